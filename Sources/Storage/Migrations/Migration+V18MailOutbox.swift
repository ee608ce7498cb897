extension Migration {
    /// The mail outbox, single-use account tokens (password-reset and verification links), each
    /// account's language, the notices it turned off and when its email was confirmed (accounts made
    /// before confirmation existed count as confirmed when they were made), and the devices each account
    /// signed in from, as keyed digests.
    /// A message's recipient and values are one sealed payload, cleared once it is sent; a pending
    /// message is found by its due time, and an erased subject's messages by the subject.
    static let v18MailOutbox = Version(number: 18, name: "mail_outbox") { dialect in
        [
            "ALTER TABLE accounts ADD COLUMN locale TEXT",
            "ALTER TABLE accounts ADD COLUMN email_verified_at \(dialect.integer)",
            "UPDATE accounts SET email_verified_at = created_at",
            "ALTER TABLE accounts ADD COLUMN muted_notices TEXT NOT NULL DEFAULT ''",
            """
            CREATE TABLE known_devices (
                user_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
                digest TEXT NOT NULL,
                first_seen \(dialect.integer) NOT NULL,
                PRIMARY KEY (user_id, digest)
            )\(dialect.strict)
            """,
            """
            CREATE TABLE account_tokens (
                digest TEXT PRIMARY KEY,
                purpose TEXT NOT NULL,
                user_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
                issued_at \(dialect.integer) NOT NULL,
                expires_at \(dialect.integer) NOT NULL,
                used_at \(dialect.integer)
            )\(dialect.strict)
            """,
            "CREATE INDEX account_tokens_user ON account_tokens (user_id, purpose)",
            """
            CREATE TABLE mail_outbox (
                id TEXT PRIMARY KEY,
                subject_id TEXT NOT NULL,
                template TEXT NOT NULL,
                locale TEXT NOT NULL,
                payload TEXT,
                state TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'dead', 'dropped')),
                attempts \(dialect.integer) NOT NULL DEFAULT 0,
                next_attempt_at \(dialect.integer) NOT NULL,
                leased_until \(dialect.integer),
                lease TEXT,
                last_error TEXT,
                created_at \(dialect.integer) NOT NULL,
                sent_at \(dialect.integer)
            )\(dialect.strict)
            """,
            "CREATE INDEX mail_outbox_due ON mail_outbox (state, next_attempt_at)",
            "CREATE INDEX mail_outbox_subject ON mail_outbox (subject_id)",
        ]
    }
}
