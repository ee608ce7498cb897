extension Migration {
    /// Data-subject requests (issue #4) and the history of their state changes, so how each was handled,
    /// and whether within its deadline, can be shown.
    static let v05DataSubjectRequests = Version(number: 5, name: "data_subject_requests") { dialect in
        [
            """
            CREATE TABLE dsr_requests (
                id TEXT PRIMARY KEY,
                subject_id TEXT NOT NULL,
                kind TEXT NOT NULL,
                status TEXT NOT NULL CHECK (status IN ('received', 'verified', 'in_progress', 'completed', 'rejected')),
                received_at \(dialect.integer) NOT NULL,
                due_at \(dialect.integer) NOT NULL,
                extension_reason TEXT,
                rejection_reason TEXT,
                filed_by TEXT NOT NULL,
                identity_verification TEXT,
                updated_at \(dialect.integer) NOT NULL
            )\(dialect.strict)
            """,
            "CREATE INDEX dsr_requests_subject ON dsr_requests (subject_id, received_at DESC)",
            "CREATE INDEX dsr_requests_due ON dsr_requests (status, due_at)",
            // One open request per subject and kind: a second is a duplicate until the first is answered.
            """
            CREATE UNIQUE INDEX dsr_requests_one_open ON dsr_requests (subject_id, kind)
            WHERE status NOT IN ('completed', 'rejected')
            """,
            """
            CREATE TABLE dsr_events (
                seq \(dialect.serial),
                request_id TEXT NOT NULL REFERENCES dsr_requests (id),
                from_status TEXT,
                to_status TEXT NOT NULL,
                actor TEXT NOT NULL,
                reason TEXT,
                occurred_at \(dialect.integer) NOT NULL
            )\(dialect.strict)
            """,
            "CREATE INDEX dsr_events_request ON dsr_events (request_id, seq)",
        ]
    }
}
