extension Migration {
    /// What signing out of applications, and clients that sign their own assertions, need: where a
    /// client may send the browser after RP-initiated logout, its public keys, the portal session an
    /// application session (and the code that started it) came from, and the relying parties still to
    /// be told, over the back channel, that a session ended.
    static let v23OAuthLogout = Version(number: 23, name: "oauth_logout") { dialect in
        [
            "ALTER TABLE oauth_clients ADD COLUMN post_logout_redirect_uris TEXT NOT NULL DEFAULT '[]'",
            "ALTER TABLE oauth_clients ADD COLUMN jwks TEXT NOT NULL DEFAULT '[]'",
            "ALTER TABLE oauth_codes ADD COLUMN web_session_id TEXT",
            "ALTER TABLE sessions ADD COLUMN parent_session_id TEXT",
            "CREATE INDEX sessions_parent ON sessions (parent_session_id)",
            """
            CREATE TABLE oauth_logout_notices (
                session_id TEXT PRIMARY KEY,
                client_id TEXT NOT NULL,
                user_id TEXT NOT NULL,
                created_at \(dialect.integer) NOT NULL,
                next_attempt_at \(dialect.integer) NOT NULL,
                attempts \(dialect.integer) NOT NULL DEFAULT 0,
                state TEXT NOT NULL DEFAULT 'pending',
                lease TEXT,
                leased_until \(dialect.integer),
                last_error TEXT
            )\(dialect.strict)
            """,
            "CREATE INDEX oauth_logout_notices_due ON oauth_logout_notices (state, next_attempt_at)",
        ]
    }
}
