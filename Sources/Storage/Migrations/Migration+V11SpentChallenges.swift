extension Migration {
    /// Sign-in steps that are good for one use across every replica: an MFA challenge, once exchanged
    /// for a session, is recorded here until it would have expired anyway.
    static let v11SpentChallenges = Version(number: 11, name: "spent_challenges") { dialect in
        [
            """
            CREATE TABLE spent_challenges (
                id TEXT PRIMARY KEY,
                expires_at \(dialect.integer) NOT NULL
            )\(dialect.strict)
            """,
            "CREATE INDEX spent_challenges_expiry ON spent_challenges (expires_at)",
        ]
    }
}
