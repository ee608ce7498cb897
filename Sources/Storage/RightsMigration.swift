extension Migration {
    /// Lawful bases of purposes, restrictions of processing and profile names (issue #4).
    static func rights(integer: String, strict: String) -> Migration {
        Migration(
            version: 8, name: "rights",
            statements: [
                "ALTER TABLE purposes ADD COLUMN lawful_basis TEXT NOT NULL DEFAULT 'consent'",
                "ALTER TABLE accounts ADD COLUMN display_name TEXT",
                """
                CREATE TABLE restrictions (
                    subject_id TEXT PRIMARY KEY,
                    since \(integer) NOT NULL,
                    request_id TEXT
                )\(strict)
                """,
            ])
    }
}
