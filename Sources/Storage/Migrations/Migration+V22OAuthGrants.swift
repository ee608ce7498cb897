extension Migration {
    /// What the OAuth flows keep: authorization codes and pushed requests (only their digests), the
    /// grants people gave applications, and which application (with which scopes) a session was
    /// started for.
    static let v22OAuthGrants = Version(number: 22, name: "oauth_grants") { dialect in
        [
            """
            CREATE TABLE oauth_codes (
                digest TEXT PRIMARY KEY,
                client_id TEXT NOT NULL,
                user_id TEXT NOT NULL,
                redirect_uri TEXT NOT NULL,
                scopes TEXT NOT NULL,
                nonce TEXT,
                code_challenge TEXT NOT NULL,
                auth_time \(dialect.integer) NOT NULL,
                amr TEXT NOT NULL,
                expires_at \(dialect.integer) NOT NULL,
                spent_at \(dialect.integer),
                session_id TEXT
            )\(dialect.strict)
            """,
            "CREATE INDEX oauth_codes_expiry ON oauth_codes (expires_at)",
            """
            CREATE TABLE oauth_grants (
                user_id TEXT NOT NULL,
                client_id TEXT NOT NULL,
                scopes TEXT NOT NULL,
                granted_at \(dialect.integer) NOT NULL,
                PRIMARY KEY (user_id, client_id)
            )\(dialect.strict)
            """,
            """
            CREATE TABLE oauth_pushed_requests (
                digest TEXT PRIMARY KEY,
                client_id TEXT NOT NULL,
                parameters TEXT NOT NULL,
                expires_at \(dialect.integer) NOT NULL
            )\(dialect.strict)
            """,
            "ALTER TABLE sessions ADD COLUMN client_id TEXT",
            "ALTER TABLE sessions ADD COLUMN scopes TEXT",
            "ALTER TABLE sessions ADD COLUMN auth_time \(dialect.integer)",
            "ALTER TABLE sessions ADD COLUMN dpop_jkt TEXT",
        ]
    }
}
