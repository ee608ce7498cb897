extension Migration {
    /// The applications registered to use QSPP as their OAuth and OpenID Connect provider. A secret is
    /// kept only as its digest; a deleted client keeps its row, so its id is never given out again and
    /// the audit log's mentions of it still resolve.
    static let v21OAuthClients = Version(number: 21, name: "oauth_clients") { dialect in
        [
            """
            CREATE TABLE oauth_clients (
                id TEXT PRIMARY KEY,
                name TEXT NOT NULL,
                kind TEXT NOT NULL,
                authentication TEXT NOT NULL,
                secret_digest TEXT,
                redirect_uris TEXT NOT NULL,
                grant_types TEXT NOT NULL,
                scopes TEXT NOT NULL,
                backchannel_logout_uri TEXT,
                requires_par \(dialect.integer) NOT NULL,
                id_token_alg TEXT NOT NULL,
                created_at \(dialect.integer) NOT NULL,
                created_by TEXT NOT NULL,
                deleted_at \(dialect.integer)
            )\(dialect.strict)
            """
        ]
    }
}
