extension Migration {
    /// The hash-chained ledger (issue #4). `appendOnly` holds each backend's triggers that refuse
    /// updates and deletes of entries and checkpoints.
    static func ledger(
        integer: String, blob: String, zeroHash: String, strict: String, appendOnly: [String]
    )
        -> Migration
    {
        Migration(
            version: 6, name: "ledger",
            statements: [
                """
                CREATE TABLE ledger_entries (
                    seq \(integer) PRIMARY KEY,
                    reference TEXT NOT NULL,
                    content \(blob) NOT NULL,
                    content_hash \(blob) NOT NULL,
                    prev_hash \(blob) NOT NULL,
                    entry_hash \(blob) NOT NULL
                )\(strict)
                """,
                // One row: the lock every append takes, held only for its own transaction.
                """
                CREATE TABLE ledger_head (
                    id \(integer) PRIMARY KEY CHECK (id = 1),
                    size \(integer) NOT NULL,
                    hash \(blob) NOT NULL
                )\(strict)
                """,
                "INSERT INTO ledger_head (id, size, hash) VALUES (1, 0, \(zeroHash))",
                """
                CREATE TABLE ledger_checkpoints (
                    size \(integer) PRIMARY KEY,
                    head_hash \(blob) NOT NULL,
                    signed_at \(integer) NOT NULL,
                    signature TEXT NOT NULL
                )\(strict)
                """,
                "ALTER TABLE consent_events ADD COLUMN ledger_seq \(integer)",
            ] + appendOnly)
    }
}
