extension Migration {
    /// Staff reads and exports of a person's data, which the person is shown: append-only like the
    /// other evidence, and ledgered.
    static let v15StaffAccess = Version(
        number: 15, name: "staff_access",
        postgres: staffAccessTable(.postgres) + [
            """
            CREATE TRIGGER staff_access_append_only BEFORE UPDATE OR DELETE ON staff_access
            FOR EACH ROW EXECUTE FUNCTION ledger_append_only()
            """,
            """
            CREATE TRIGGER staff_access_no_truncate BEFORE TRUNCATE ON staff_access
            FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only()
            """,
        ],
        sqlite: staffAccessTable(.sqlite)
            + ["UPDATE", "DELETE"].map { change in
                """
                CREATE TRIGGER staff_access_no_\(change.lowercased()) BEFORE \(change) ON staff_access
                BEGIN SELECT RAISE(ABORT, 'staff_access is append-only'); END
                """
            })

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
