extension Migration {
    /// Per-subject data keys and the email blind index (issue #4), so personal data is stored sealed
    /// and erasing a subject's keys leaves nothing readable.
    static let v07PersonalDataKeys = Version(number: 7, name: "personal_data_keys") { dialect in
        [
            // One per process: a random AES key sealed to the master key. Data keys are wrapped under
            // it, so a new subject costs an AES operation, not an X-Wing encapsulation.
            """
            CREATE TABLE wrapping_keys (
                id TEXT PRIMARY KEY,
                sealed \(dialect.blob) NOT NULL,
                kek TEXT NOT NULL,
                created_at \(dialect.integer) NOT NULL
            )\(dialect.strict)
            """,
            "CREATE INDEX wrapping_keys_kek ON wrapping_keys (kek)",
            """
            CREATE TABLE subject_keys (
                id TEXT PRIMARY KEY,
                subject_id TEXT NOT NULL,
                wrapped \(dialect.blob) NOT NULL,
                wrapping_key_id TEXT NOT NULL,
                created_at \(dialect.integer) NOT NULL
            )\(dialect.strict)
            """,
            "CREATE INDEX subject_keys_subject ON subject_keys (subject_id)",
            """
            CREATE TABLE sealed_secrets (
                name TEXT PRIMARY KEY,
                sealed \(dialect.blob) NOT NULL,
                kek TEXT NOT NULL
            )\(dialect.strict)
            """,
            """
            CREATE TABLE erased_subjects (
                subject_id TEXT PRIMARY KEY,
                erased_at \(dialect.integer) NOT NULL,
                request_id TEXT
            )\(dialect.strict)
            """,
            "ALTER TABLE accounts ADD COLUMN email_index TEXT",
            "CREATE UNIQUE INDEX accounts_email_index ON accounts (email_index)",
        ]
    }
}
