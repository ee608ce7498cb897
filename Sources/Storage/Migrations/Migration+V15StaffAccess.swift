extension Migration {
    /// Staff reads and exports of a person's data, which the person is shown: append-only like the
    /// other evidence, and ledgered.
    static let v15StaffAccess = Version(
        number: 15, name: "staff_access",
        postgres: staffAccessTable(.postgres) + appendOnly("staff_access").postgres,
        sqlite: staffAccessTable(.sqlite) + appendOnly("staff_access").sqlite)

    private static func staffAccessTable(_ dialect: Dialect) -> [String] {
        [
            """
            CREATE TABLE staff_access (
                seq \(dialect.serial),
                id TEXT NOT NULL UNIQUE,
                subject_id TEXT NOT NULL,
                staff_id TEXT NOT NULL,
                action TEXT NOT NULL,
                request_id TEXT,
                reason TEXT,
                occurred_at \(dialect.integer) NOT NULL
            )\(dialect.strict)
            """,
            "CREATE INDEX staff_access_subject ON staff_access (subject_id, seq DESC)",
        ]
    }
}
