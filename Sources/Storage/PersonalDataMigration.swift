extension Migration {
    /// Per-subject data keys and the email blind index (issue #4); shared SQL as in `identity(...)`.
    static func personalData(integer: String, blob: String, strict: String) -> Migration {
        Migration(
            version: 7, name: "personal_data_keys",
            statements: [
                // One per process: a random AES key sealed to the master key. Data keys are wrapped under
                // it, so a new subject costs an AES operation, not an X-Wing encapsulation.
                """
                CREATE TABLE wrapping_keys (
                    id TEXT PRIMARY KEY,
                    sealed \(blob) NOT NULL,
                    kek TEXT NOT NULL,
                    created_at \(integer) NOT NULL
                )\(strict)
                """,
                "CREATE INDEX wrapping_keys_kek ON wrapping_keys (kek)",
                """
                CREATE TABLE subject_keys (
                    id TEXT PRIMARY KEY,
                    subject_id TEXT NOT NULL,
                    wrapped \(blob) NOT NULL,
                    wrapping_key_id TEXT NOT NULL,
                    created_at \(integer) NOT NULL
                )\(strict)
                """,
                "CREATE INDEX subject_keys_subject ON subject_keys (subject_id)",
                """
                CREATE TABLE sealed_secrets (
                    name TEXT PRIMARY KEY,
                    sealed \(blob) NOT NULL,
                    kek TEXT NOT NULL
                )\(strict)
                """,
                """
                CREATE TABLE erased_subjects (
                    subject_id TEXT PRIMARY KEY,
                    erased_at \(integer) NOT NULL,
                    request_id TEXT
                )\(strict)
                """,
                "ALTER TABLE accounts ADD COLUMN email_index TEXT",
                "CREATE UNIQUE INDEX accounts_email_index ON accounts (email_index)",
            ])
    }
}
