import Foundation
import Privacy

/// Appends to the chain inside the caller's transaction, so an entry commits with the write it
/// describes or not at all. SQLite's path: its write transactions are exclusive already.
/// PostgreSQL runs the same steps in `ledger_append()`, inside the database.
enum LedgerWriter {
    /// Rows per `INSERT`: 6 parameters each stays far below both backends' limits.
    private static let rowsPerStatement = 500

    /// Returns the entries' sequences, in order.
    static func append(_ records: [LedgerRecord], _ tx: any SQLExecutor) async throws -> [Int64] {
        guard !records.isEmpty else { return [] }
        guard
            let row = try await tx.query("SELECT size, hash FROM ledger_head WHERE id = 1 \(tx.lockRowsClause)", [])
                .first
        else { throw StorageError.corrupted("ledger head") }
        let head = LedgerHead(size: try row.integer(0), hash: row[1].bytes ?? Data())
        let (entries, newHead) = LedgerChain.extend(head, with: records)
        for start in stride(from: 0, to: entries.count, by: rowsPerStatement) {
            let chunk = entries[start..<min(start + rowsPerStatement, entries.count)]
            let values = (0..<chunk.count).map { index in
                "(" + (1...6).map { "$\(index * 6 + $0)" }.joined(separator: ", ") + ")"
            }
            try await tx.execute(
                """
                INSERT INTO ledger_entries (seq, reference, content, content_hash, prev_hash, entry_hash)
                VALUES \(values.joined(separator: ", "))
                """,
                chunk.flatMap { entry -> [SQLValue] in
                    [
                        .integer(entry.sequence), .text(entry.reference), .blob(entry.content),
                        .blob(entry.contentHash), .blob(entry.previousHash), .blob(entry.entryHash),
                    ]
                })
        }
        try await tx.execute(
            "UPDATE ledger_head SET size = $1, hash = $2 WHERE id = 1", [.integer(newHead.size), .blob(newHead.hash)])
        return entries.map(\.sequence)
    }
}

/// Reading the ledger and its checkpoints, in SQL both backends run unchanged.
struct SQLLedgerRepository: LedgerRepository {
    let database: any SQLDatabase

    func appendLedger(_ records: [LedgerRecord]) async throws -> [Int64] {
        try await database.transaction { tx in try await tx.appendLedger(records) }
    }

    func ledgerEntries(after sequence: Int64, limit: Int) async throws -> [LedgerEntry] {
        try await database.select(
            """
            SELECT seq, reference, content, content_hash, prev_hash, entry_hash FROM ledger_entries
            WHERE seq > $1 ORDER BY seq LIMIT $2
            """, [.integer(sequence), .integer(Int64(limit))]
        ).map { row in
            // Whatever a damaged row holds is passed on as bytes: verification, not decoding, judges it.
            LedgerEntry(
                sequence: try row.integer(0), reference: row[1].text ?? "", content: row[2].bytes ?? Data(),
                contentHash: row[3].bytes ?? Data(), previousHash: row[4].bytes ?? Data(),
                entryHash: row[5].bytes ?? Data())
        }
    }

    func ledgerHead() async throws -> LedgerHead {
        guard let row = try await database.select("SELECT size, hash FROM ledger_head WHERE id = 1", []).first else {
            return LedgerHead(size: -1, hash: Data())
        }
        return LedgerHead(size: try row.integer(0), hash: row[1].bytes ?? Data())
    }

    /// A scan: look-ups by reference are rare (an auditor's question), and an index on it would cost
    /// every append.
    func ledgerSequence(reference: String) async throws -> Int64? {
        try await database.select(
            "SELECT seq FROM ledger_entries WHERE reference = $1 ORDER BY seq LIMIT 1", [.text(reference)]
        ).first?[0].integer
    }

    func insertCheckpoint(_ checkpoint: LedgerCheckpoint) async throws {
        _ = try await database.write(
            """
            INSERT INTO ledger_checkpoints (size, head_hash, signed_at, signature) VALUES ($1, $2, $3, $4)
            ON CONFLICT (size) DO NOTHING
            """,
            [
                .integer(checkpoint.size), .blob(checkpoint.headHash), .time(checkpoint.signedAt),
                .text(checkpoint.signature),
            ])
    }

    func checkpoints() async throws -> [LedgerCheckpoint] {
        try await database.select(
            "SELECT size, head_hash, signed_at, signature FROM ledger_checkpoints ORDER BY size", []
        ).map { row in
            LedgerCheckpoint(
                size: try row.integer(0), headHash: row[1].bytes ?? Data(), signedAt: try row.time(2),
                signature: row[3].text ?? "")
        }
    }
}
