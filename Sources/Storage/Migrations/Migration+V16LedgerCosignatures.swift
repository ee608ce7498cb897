extension Migration {
    /// Witnesses' cosignatures of the checkpoints, one line per witness and checkpoint: published with
    /// the checkpoint's note, and counted against the quorum verification requires.
    static let v16LedgerCosignatures = Version(
        number: 16, name: "ledger_cosignatures",
        postgres: cosignatureTable(.postgres) + appendOnly("ledger_cosignatures").postgres,
        sqlite: cosignatureTable(.sqlite) + appendOnly("ledger_cosignatures").sqlite)

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
