extension Migration {
    /// Lawful bases of purposes, restrictions of processing and profile names (issue #4).
    static let v08Rights = Version(number: 8, name: "rights") { dialect in
        [
            "ALTER TABLE purposes ADD COLUMN lawful_basis TEXT NOT NULL DEFAULT 'consent'",
            "ALTER TABLE accounts ADD COLUMN display_name TEXT",
            """
            CREATE TABLE restrictions (
                subject_id TEXT PRIMARY KEY,
                since \(dialect.integer) NOT NULL,
                request_id TEXT
            )\(dialect.strict)
            """,
        ]
    }
}
