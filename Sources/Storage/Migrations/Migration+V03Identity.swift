extension Migration {
    /// Accounts, sessions, refresh tokens, throttles, signing keys and the authentication audit log.
    /// Times are microseconds since 1970 on both backends, so the repository binds one type for them.
    static let v03Identity = Version(number: 3, name: "identity") { dialect in
        [
            """
            CREATE TABLE accounts (
                id TEXT PRIMARY KEY,
                email TEXT NOT NULL UNIQUE,
                password_hash TEXT NOT NULL,
                roles TEXT NOT NULL,
                created_at \(dialect.integer) NOT NULL,
                totp_secret \(dialect.blob),
                mfa_enabled \(dialect.integer) NOT NULL DEFAULT 0,
                totp_last_step \(dialect.integer) NOT NULL DEFAULT 0
            )\(dialect.strict)
            """,
            """
            CREATE TABLE recovery_codes (
                user_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
                digest TEXT NOT NULL,
                used_at \(dialect.integer),
                PRIMARY KEY (user_id, digest)
            )\(dialect.strict)
            """,
            """
            CREATE TABLE sessions (
                id TEXT PRIMARY KEY,
                user_id TEXT NOT NULL,
                created_at \(dialect.integer) NOT NULL,
                last_used_at \(dialect.integer) NOT NULL,
                ip_address TEXT,
                user_agent TEXT,
                revoked_at \(dialect.integer),
                remember_me \(dialect.integer) NOT NULL,
                amr TEXT NOT NULL
            )\(dialect.strict)
            """,
            "CREATE INDEX sessions_user ON sessions (user_id)",
            """
            CREATE TABLE refresh_tokens (
                digest TEXT PRIMARY KEY,
                session_id TEXT NOT NULL,
                user_id TEXT NOT NULL,
                issued_at \(dialect.integer) NOT NULL,
                expires_at \(dialect.integer) NOT NULL,
                rotated_at \(dialect.integer),
                grace_reuses \(dialect.integer) NOT NULL DEFAULT 0
            )\(dialect.strict)
            """,
            "CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id)",
            "CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id)",
            """
            CREATE TABLE login_throttle (
                key TEXT PRIMARY KEY,
                attempts \(dialect.integer) NOT NULL,
                window_start \(dialect.integer) NOT NULL,
                locked_until \(dialect.integer),
                lockouts \(dialect.integer) NOT NULL
            )\(dialect.strict)
            """,
            """
            CREATE TABLE rate_limits (
                key TEXT PRIMARY KEY,
                window_start \(dialect.integer) NOT NULL,
                hits \(dialect.integer) NOT NULL
            )\(dialect.strict)
            """,
            """
            CREATE TABLE signing_keys (
                kid TEXT PRIMARY KEY,
                algorithm TEXT NOT NULL,
                public_key \(dialect.blob) NOT NULL,
                sealed_private_key \(dialect.blob) NOT NULL,
                created_at \(dialect.integer) NOT NULL,
                retired_at \(dialect.integer)
            )\(dialect.strict)
            """,
            """
            CREATE TABLE auth_events (
                seq \(dialect.serial),
                id TEXT NOT NULL UNIQUE,
                kind TEXT NOT NULL,
                occurred_at \(dialect.integer) NOT NULL,
                user_id TEXT,
                session_id TEXT,
                ip_address TEXT,
                user_agent TEXT,
                details TEXT NOT NULL
            )\(dialect.strict)
            """,
            "CREATE INDEX auth_events_user ON auth_events (user_id, seq DESC)",
        ]
    }
}
