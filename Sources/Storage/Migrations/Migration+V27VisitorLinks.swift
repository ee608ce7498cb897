extension Migration {
    /// Visitors whose history an account took over when they signed up or signed in: one link per
    /// visitor, never changed or removed.
    static let v27VisitorLinks = Version(
        number: 27, name: "visitor links",
        postgres: visitorLinksTable(.postgres) + appendOnly("visitor_links").postgres,
        sqlite: visitorLinksTable(.sqlite) + appendOnly("visitor_links").sqlite)

    private static func visitorLinksTable(_ dialect: Dialect) -> [String] {
        [
            """
            CREATE TABLE visitor_links (
                visitor_id TEXT PRIMARY KEY,
                account_id TEXT NOT NULL,
                linked_at \(dialect.integer) NOT NULL
            )\(dialect.strict)
            """,
            "CREATE INDEX visitor_links_by_account ON visitor_links (account_id, linked_at)",
        ]
    }
}
