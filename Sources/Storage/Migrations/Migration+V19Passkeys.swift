extension Migration {
    /// Passkeys and the challenges of their ceremonies. A credential id is unique across accounts, so a
    /// sign-in finds its account from the passkey alone; a challenge is kept only as its digest, and is
    /// deleted when it is answered.
    static let v19Passkeys = Version(number: 19, name: "passkeys") { dialect in
        [
            """
            CREATE TABLE passkeys (
                id TEXT PRIMARY KEY,
                user_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
                name TEXT NOT NULL,
                public_key \(dialect.blob) NOT NULL,
                algorithm \(dialect.integer) NOT NULL,
                sign_count \(dialect.integer) NOT NULL,
                backup_eligible \(dialect.integer) NOT NULL,
                backed_up \(dialect.integer) NOT NULL,
                aaguid \(dialect.blob) NOT NULL,
                attestation TEXT NOT NULL,
                attestation_format TEXT NOT NULL,
                created_at \(dialect.integer) NOT NULL,
                last_used_at \(dialect.integer)
            )\(dialect.strict)
            """,
            "CREATE INDEX passkeys_user ON passkeys (user_id)",
            """
            CREATE TABLE passkey_challenges (
                digest TEXT PRIMARY KEY,
                purpose TEXT NOT NULL,
                user_id TEXT,
                expires_at \(dialect.integer) NOT NULL
            )\(dialect.strict)
            """,
        ]
    }
}
