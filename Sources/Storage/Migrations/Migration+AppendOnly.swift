extension Migration {
    /// The guards of an evidence table: on PostgreSQL, row triggers refusing UPDATE and DELETE and a
    /// statement trigger refusing TRUNCATE; on SQLite, triggers refusing UPDATE and DELETE.
    static func appendOnly(_ table: String) -> (postgres: [String], sqlite: [String]) {
        (
            [
                """
                CREATE TRIGGER \(table)_append_only BEFORE UPDATE OR DELETE ON \(table)
                FOR EACH ROW EXECUTE FUNCTION ledger_append_only()
                """,
                """
                CREATE TRIGGER \(table)_no_truncate BEFORE TRUNCATE ON \(table)
                FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only()
                """,
            ],
            ["UPDATE", "DELETE"].map { change in
                """
                CREATE TRIGGER \(table)_no_\(change.lowercased()) BEFORE \(change) ON \(table)
                BEGIN SELECT RAISE(ABORT, '\(table) is append-only'); END
                """
            }
        )
    }
}
