import Foundation
import Privacy

/// Appends to the chain inside the caller's transaction, so an entry commits with the write it
/// describes or not at all. SQLite's path: its write transactions are exclusive already.
/// PostgreSQL runs the same steps in `ledger_append()`, inside the database.
enum LedgerWriter {
    /// Rows per `INSERT`: 6 parameters each stays far below both backends' limits.
    static let rowsPerStatement = 500

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

    /// The earliest entry is the one that recorded the row; the reference index makes this a look-up.
    func ledgerSequence(reference: String) async throws -> Int64? {
        try await database.select(
            "SELECT seq FROM ledger_entries WHERE reference = $1 ORDER BY seq LIMIT 1", [.text(reference)]
        ).first?[0].integer
    }

    func insertCosignature(size: Int64, witness: String, line: String) async throws {
        _ = try await database.write(
            "INSERT INTO ledger_cosignatures (size, witness, line) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            [.integer(size), .text(witness), .text(line)])
    }

    func cosignatures(size: Int64) async throws -> [String] {
        try await database.select(
            "SELECT line FROM ledger_cosignatures WHERE size = $1 ORDER BY witness", [.integer(size)]
        ).map { try $0.text(0) }
    }

    func insertCheckpoint(_ checkpoint: LedgerCheckpoint) async throws {
        _ = try await database.write(
            """
            INSERT INTO ledger_checkpoints (size, head_hash, signed_at, signature, tree_root, note)
            VALUES ($1, $2, $3, $4, $5, $6)
            ON CONFLICT (size) DO NOTHING
            """,
            [
                .integer(checkpoint.size), .blob(checkpoint.headHash), .time(checkpoint.signedAt),
                .text(checkpoint.signature), .optional(checkpoint.treeRoot), .optional(checkpoint.note),
            ])
    }

    func checkpoints() async throws -> [LedgerCheckpoint] {
        try await selectCheckpoints("ORDER BY size", [])
    }

    func recentCheckpoints(limit: Int) async throws -> [LedgerCheckpoint] {
        try await selectCheckpoints("ORDER BY size DESC LIMIT $1", [.integer(Int64(limit))])
    }

    private func selectCheckpoints(_ order: String, _ binds: [SQLValue]) async throws -> [LedgerCheckpoint] {
        try await database.select(
            "SELECT size, head_hash, signed_at, signature, tree_root, note FROM ledger_checkpoints \(order)", binds
        ).map { row in
            LedgerCheckpoint(
                size: try row.integer(0), headHash: row[1].bytes ?? Data(), signedAt: try row.time(2),
                signature: row[3].text ?? "", treeRoot: row[4].bytes, note: row[5].text)
        }
    }

    func treeHead() async throws -> LedgerTreeHead {
        guard
            let row = try await database.select(
                "SELECT size, frontier, chain_hash FROM ledger_tree_head WHERE id = 1", []
            ).first,
            let frontier = MerkleFrontier(size: try row.integer(0), packed: row[1].bytes ?? Data())
        else { throw StorageError.corrupted("ledger tree head") }
        return LedgerTreeHead(frontier: frontier, chain: LedgerHead(size: frontier.size, hash: row[2].bytes ?? Data()))
    }

    func extendTree(from: Int64, to head: LedgerTreeHead, nodes: [(MerkleTree.Node, Data)]) async throws -> Bool {
        try await database.transaction { tx in
            // Moving the head first takes its lock: a replica that lost the race stores nothing.
            let moved = try await tx.query(
                """
                UPDATE ledger_tree_head SET size = $1, frontier = $2, chain_hash = $3 WHERE id = 1 AND size = $4
                RETURNING size
                """,
                [.integer(head.frontier.size), .blob(head.frontier.packed), .blob(head.chain.hash), .integer(from)])
            guard !moved.isEmpty else { return false }
            for start in stride(from: 0, to: nodes.count, by: LedgerWriter.rowsPerStatement) {
                let chunk = nodes[start..<min(start + LedgerWriter.rowsPerStatement, nodes.count)]
                let values = (0..<chunk.count).map { "($\($0 * 3 + 1), $\($0 * 3 + 2), $\($0 * 3 + 3))" }
                try await tx.execute(
                    "INSERT INTO ledger_tree (level, idx, hash) VALUES \(values.joined(separator: ", "))",
                    chunk.flatMap { node, hash in [.integer(Int64(node.level)), .integer(node.index), .blob(hash)] })
            }
            return true
        }
    }

    /// Joined to a list of the wanted keys: each is one index look-up, planned faster than as many ORs.
    func treeNodes(_ nodes: Set<MerkleTree.Node>) async throws -> [MerkleTree.Node: Data] {
        guard !nodes.isEmpty else { return [:] }
        let wanted = nodes.sorted()
        let keys = (0..<wanted.count).map { "($\($0 * 2 + 1), $\($0 * 2 + 2))" }
        let rows = try await database.select(
            """
            SELECT t.level, t.idx, t.hash FROM (VALUES \(keys.joined(separator: ", "))) AS w
            JOIN ledger_tree t ON t.level = w.column1 AND t.idx = w.column2
            """,
            wanted.flatMap { [.integer(Int64($0.level)), .integer($0.index)] })
        var found: [MerkleTree.Node: Data] = [:]
        for row in rows {
            guard let hash = row[2].bytes else { continue }
            found[MerkleTree.Node(level: Int(try row.integer(0)), index: try row.integer(1))] = hash
        }
        return found
    }

    /// Read as one blob while the leaves are whole (every one stored, and each exactly a hash's length,
    /// so no two can trade bytes across the cut): a row each costs more to send and decode than to hash.
    func leafHashes(after sequence: Int64, limit: Int) async throws -> [Data?] {
        let range: [SQLValue] = [.integer(sequence), .integer(sequence + Int64(limit))]
        if let row = try await database.select(
            """
            SELECT count(*), min(idx), max(idx), min(length(hash)), max(length(hash)),
                \(database.concatenation(of: "hash", orderedBy: "idx"))
            FROM ledger_tree WHERE level = 0 AND idx >= $1 AND idx < $2
            """, range
        ).first, let count = row[0].integer, count > 0, row[1].integer == sequence,
            row[2].integer == sequence + count - 1, row[3].integer == 32, row[4].integer == 32,
            let joined = row[5].bytes, joined.count == count * 32
        {
            return stride(from: 0, to: joined.count, by: 32).map {
                joined[joined.startIndex + $0..<joined.startIndex + $0 + 32]
            }
        }
        var leaves: [Data?] = []
        leaves.reserveCapacity(limit)
        for row in try await database.select(
            "SELECT idx, hash FROM ledger_tree WHERE level = 0 AND idx >= $1 AND idx < $2 ORDER BY idx", range)
        {
            let position = Int(try row.integer(0) - sequence)
            while leaves.count < position { leaves.append(nil) }
            leaves.append(row[1].bytes ?? Data())
        }
        return leaves
    }
}
