extension Migration {
    /// Data-subject requests fanned out to downstream systems: the systems administrators registered
    /// (each reached through a webhook endpoint), each request's fan-out with QSPP's own part once it
    /// is done (and, for an erasure, the erased person's address for the notice that it is complete,
    /// sealed under a key of its own), and one task per system with its answer. Data a system returns is sealed under the
    /// person's data key, so erasing them erases it too.
    static let v25RequestTasks = Version(number: 25, name: "request tasks") { dialect in
        [
            """
            CREATE TABLE downstream_systems (
                id TEXT PRIMARY KEY,
                name TEXT NOT NULL,
                endpoint_id TEXT NOT NULL,
                created_by TEXT NOT NULL,
                created_at \(dialect.integer) NOT NULL,
                retired_at \(dialect.integer)
            )\(dialect.strict)
            """,
            "CREATE UNIQUE INDEX downstream_systems_name ON downstream_systems (name) WHERE retired_at IS NULL",
            """
            CREATE TABLE request_fanouts (
                request_id TEXT PRIMARY KEY REFERENCES dsr_requests (id) ON DELETE CASCADE,
                opened_at \(dialect.integer) NOT NULL,
                local_outcome TEXT,
                local_by TEXT,
                local_at \(dialect.integer),
                notice_recipient TEXT,
                notice_locale TEXT
            )\(dialect.strict)
            """,
            """
            CREATE TABLE request_tasks (
                id TEXT PRIMARY KEY,
                request_id TEXT NOT NULL REFERENCES request_fanouts (request_id) ON DELETE CASCADE,
                system_id TEXT NOT NULL REFERENCES downstream_systems (id),
                action TEXT NOT NULL,
                state TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'done', 'exception', 'cancelled')),
                created_at \(dialect.integer) NOT NULL,
                settled_at \(dialect.integer),
                outcome TEXT,
                settled_by TEXT,
                data TEXT,
                UNIQUE (request_id, system_id)
            )\(dialect.strict)
            """,
            "CREATE INDEX request_tasks_open ON request_tasks (state, request_id)",
        ]
    }
}
