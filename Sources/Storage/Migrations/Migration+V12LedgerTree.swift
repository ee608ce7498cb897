extension Migration {
    /// The ledger as an RFC 9162 Merkle tree (issue #17): the complete subtrees' hashes, which proofs are
    /// folded from; how far the tree has integrated the chain; and each checkpoint's tree root and the
    /// C2SP signed note that states it. On PostgreSQL, row triggers do not fire on TRUNCATE, so every
    /// append-only table also refuses it with a statement trigger.
    static let v12LedgerTree = Version(
        number: 12, name: "ledger_tree",
        postgres: ledgerTreeStatements(
            .postgres, empty: "'\\x'::bytea", zeroHash: "'\\x\(String(repeating: "0", count: 64))'::bytea")
            + [
                """
                CREATE TRIGGER ledger_tree_append_only BEFORE UPDATE OR DELETE ON ledger_tree
                FOR EACH ROW EXECUTE FUNCTION ledger_append_only()
                """
            ]
            + [
                "consent_events", "auth_events", "ledger_entries", "ledger_head", "ledger_checkpoints", "ledger_tree",
                "ledger_tree_head",
            ].map { table in
                """
                CREATE TRIGGER \(table)_no_truncate BEFORE TRUNCATE ON \(table)
                FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only()
                """
            },
        sqlite: ledgerTreeStatements(.sqlite, empty: "x''", zeroHash: "zeroblob(32)")
            + ["UPDATE", "DELETE"].map { change in
                """
                CREATE TRIGGER ledger_tree_no_\(change.lowercased()) BEFORE \(change) ON ledger_tree
                BEGIN SELECT RAISE(ABORT, 'ledger_tree is append-only'); END
                """
            })

    private static func ledgerTreeStatements(_ dialect: Dialect, empty: String, zeroHash: String) -> [String] {
        [
            // A node is the `idx`-th run of 2^`level` leaves; leaves are level 0, indexed from 0.
            """
            CREATE TABLE ledger_tree (
                level \(dialect.integer) NOT NULL,
                idx \(dialect.integer) NOT NULL,
                hash \(dialect.blob) NOT NULL,
                PRIMARY KEY (level, idx)
            )\(dialect.strict)
            """,
            // One row: the tree's size, its right edge (the complete subtrees' roots, largest first,
            // concatenated) and the chain entry hash at that size.
            """
            CREATE TABLE ledger_tree_head (
                id \(dialect.integer) PRIMARY KEY CHECK (id = 1),
                size \(dialect.integer) NOT NULL,
                frontier \(dialect.blob) NOT NULL,
                chain_hash \(dialect.blob) NOT NULL
            )\(dialect.strict)
            """,
            "INSERT INTO ledger_tree_head (id, size, frontier, chain_hash) VALUES (1, 0, \(empty), \(zeroHash))",
            "ALTER TABLE ledger_checkpoints ADD COLUMN tree_root \(dialect.blob)",
            "ALTER TABLE ledger_checkpoints ADD COLUMN note TEXT",
        ]
    }
}
