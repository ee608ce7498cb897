extension Migration {
    /// Valyze: data records (content sealed under the subject's data key), tasks, jobs and their
    /// per-record outcomes (issue #5). Values are stored as text, Swift's shortest exact form.
    static let v10Valuation = Version(number: 10, name: "valuation") { dialect in
        [
            """
            CREATE TABLE data_records (
                id TEXT PRIMARY KEY,
                subject_id TEXT NOT NULL,
                category TEXT NOT NULL,
                purpose_id TEXT NOT NULL,
                content TEXT NOT NULL,
                recorded_at \(dialect.integer) NOT NULL,
                created_at \(dialect.integer) NOT NULL
            )\(dialect.strict)
            """,
            "CREATE INDEX data_records_by_subject ON data_records (subject_id, created_at)",
            "CREATE INDEX data_records_by_category ON data_records (category, id)",
            """
            CREATE TABLE valuation_tasks (
                id TEXT PRIMARY KEY,
                definition TEXT NOT NULL,
                created_at \(dialect.integer) NOT NULL
            )\(dialect.strict)
            """,
            """
            CREATE TABLE valuation_jobs (
                id TEXT PRIMARY KEY,
                task_id TEXT NOT NULL REFERENCES valuation_tasks (id),
                status TEXT NOT NULL,
                progress_ppm \(dialect.integer) NOT NULL DEFAULT 0,
                created_at \(dialect.integer) NOT NULL,
                started_at \(dialect.integer),
                finished_at \(dialect.integer),
                lease_until \(dialect.integer),
                error TEXT,
                cancel_requested \(dialect.integer) NOT NULL DEFAULT 0,
                attempts \(dialect.integer) NOT NULL DEFAULT 0,
                summary TEXT
            )\(dialect.strict)
            """,
            "CREATE INDEX valuation_jobs_waiting ON valuation_jobs (status, created_at)",
            """
            CREATE TABLE valuation_values (
                job_id TEXT NOT NULL REFERENCES valuation_jobs (id),
                record_id TEXT NOT NULL,
                subject_id TEXT NOT NULL,
                value TEXT,
                standard_error TEXT,
                excluded TEXT,
                PRIMARY KEY (job_id, record_id)
            )\(dialect.strict)
            """,
            "CREATE INDEX valuation_values_by_subject ON valuation_values (subject_id, job_id)",
        ]
    }
}
