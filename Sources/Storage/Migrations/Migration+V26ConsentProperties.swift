extension Migration {
    /// Consent properties: the websites whose visitors give consent through the SDK, with the origins
    /// allowed to record through each and the purposes its banner shows.
    static let v26ConsentProperties = Version(number: 26, name: "consent properties") { dialect in
        [
            """
            CREATE TABLE consent_properties (
                id TEXT PRIMARY KEY,
                name TEXT NOT NULL,
                origins TEXT NOT NULL,
                purposes TEXT NOT NULL,
                created_by TEXT NOT NULL,
                created_at \(dialect.integer) NOT NULL,
                retired_at \(dialect.integer)
            )\(dialect.strict)
            """
        ]
    }
}
