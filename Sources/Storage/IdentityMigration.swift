extension Migration {
    /// The identity tables. Both backends share the statements but for four type names, so the
    /// repository's SQL runs unchanged on either. Times are microseconds since 1970.
    static func identity(integer: String, blob: String, serial: String, strict: String) -> Migration {
        Migration(
            version: 3, name: "identity",
            statements: [
                """
                CREATE TABLE accounts (
                    id TEXT PRIMARY KEY,
                    email TEXT NOT NULL UNIQUE,
                    password_hash TEXT NOT NULL,
                    roles TEXT NOT NULL,
                    created_at \(integer) NOT NULL,
                    totp_secret \(blob),
                    mfa_enabled \(integer) NOT NULL DEFAULT 0,
                    totp_last_step \(integer) NOT NULL DEFAULT 0
                )\(strict)
                """,
                """
                CREATE TABLE recovery_codes (
                    user_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
                    digest TEXT NOT NULL,
                    used_at \(integer),
                    PRIMARY KEY (user_id, digest)
                )\(strict)
                """,
                """
                CREATE TABLE sessions (
                    id TEXT PRIMARY KEY,
                    user_id TEXT NOT NULL,
                    created_at \(integer) NOT NULL,
                    last_used_at \(integer) NOT NULL,
                    ip_address TEXT,
                    user_agent TEXT,
                    revoked_at \(integer),
                    remember_me \(integer) NOT NULL,
                    amr TEXT NOT NULL
                )\(strict)
                """,
                "CREATE INDEX sessions_user ON sessions (user_id)",
                """
                CREATE TABLE refresh_tokens (
                    digest TEXT PRIMARY KEY,
                    session_id TEXT NOT NULL,
                    user_id TEXT NOT NULL,
                    issued_at \(integer) NOT NULL,
                    expires_at \(integer) NOT NULL,
                    rotated_at \(integer),
                    grace_reuses \(integer) NOT NULL DEFAULT 0
                )\(strict)
                """,
                "CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id)",
                "CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id)",
                """
                CREATE TABLE login_throttle (
                    key TEXT PRIMARY KEY,
                    attempts \(integer) NOT NULL,
                    window_start \(integer) NOT NULL,
                    locked_until \(integer),
                    lockouts \(integer) NOT NULL
                )\(strict)
                """,
                """
                CREATE TABLE rate_limits (
                    key TEXT PRIMARY KEY,
                    window_start \(integer) NOT NULL,
                    hits \(integer) NOT NULL
                )\(strict)
                """,
                """
                CREATE TABLE signing_keys (
                    kid TEXT PRIMARY KEY,
                    algorithm TEXT NOT NULL,
                    public_key \(blob) NOT NULL,
                    sealed_private_key \(blob) NOT NULL,
                    created_at \(integer) NOT NULL,
                    retired_at \(integer)
                )\(strict)
                """,
                """
                CREATE TABLE auth_events (
                    seq \(serial),
                    id TEXT NOT NULL UNIQUE,
                    kind TEXT NOT NULL,
                    occurred_at \(integer) NOT NULL,
                    user_id TEXT,
                    session_id TEXT,
                    ip_address TEXT,
                    user_agent TEXT,
                    details TEXT NOT NULL
                )\(strict)
                """,
                "CREATE INDEX auth_events_user ON auth_events (user_id, seq DESC)",
            ])
    }
}
