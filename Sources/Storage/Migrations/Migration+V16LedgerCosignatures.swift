extension Migration {
    /// Witnesses' cosignatures of the checkpoints, one line per witness and checkpoint: published with
    /// the checkpoint's note, and counted against the quorum verification requires.
    static let v16LedgerCosignatures = Version(
        number: 16, name: "ledger_cosignatures",
        postgres: cosignatureTable(.postgres) + [
            """
            CREATE TRIGGER ledger_cosignatures_append_only BEFORE UPDATE OR DELETE ON ledger_cosignatures
            FOR EACH ROW EXECUTE FUNCTION ledger_append_only()
            """,
            """
            CREATE TRIGGER ledger_cosignatures_no_truncate BEFORE TRUNCATE ON ledger_cosignatures
            FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only()
            """,
        ],
        sqlite: cosignatureTable(.sqlite)
            + ["UPDATE", "DELETE"].map { change in
                """
                CREATE TRIGGER ledger_cosignatures_no_\(change.lowercased()) BEFORE \(change) ON ledger_cosignatures
                BEGIN SELECT RAISE(ABORT, 'ledger_cosignatures is append-only'); END
                """
            })

    private static func cosignatureTable(_ dialect: Dialect) -> [String] {
        [
            """
            CREATE TABLE ledger_cosignatures (
                size \(dialect.integer) NOT NULL,
                witness TEXT NOT NULL,
                line TEXT NOT NULL,
                PRIMARY KEY (size, witness)
            )\(dialect.strict)
            """
        ]
    }
}
