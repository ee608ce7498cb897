import Foundation

/// The leases of the work queues (the mail outbox, the back-channel logout notices): tables whose rows
/// have `state`, `next_attempt_at`, `leased_until`, `lease`, `attempts` and `created_at`.
extension SQLDatabase {
    /// Leases up to `limit` pending rows of `table` that are due at `now` and not held by a live lease,
    /// counting an attempt on each, and returns their `columns`, oldest first by `created_at` (which
    /// must be the last of `columns`). Replicas leasing at once get disjoint rows.
    func lease(
        _ table: String, key: String, returning columns: String, limit: Int, now: Date, for duration: TimeInterval,
        lease: UUID
    ) async throws -> [SQLRow] {
        let due = "state = 'pending' AND next_attempt_at <= $1 AND (leased_until IS NULL OR leased_until <= $1)"
        // A read first: most rounds find nothing due, and a read takes no write lock.
        guard try await !select("SELECT 1 FROM \(table) WHERE \(due) LIMIT 1", [.time(now)]).isEmpty else {
            return []
        }
        // Replicas skip each other's locked rows on PostgreSQL; SQLite's writers take turns anyway.
        let lock = lockRowsClause.isEmpty ? "" : lockRowsClause + " SKIP LOCKED"
        let rows = try await transaction { tx in
            try await tx.query(
                """
                UPDATE \(table) SET attempts = attempts + 1, leased_until = $2, lease = $3
                WHERE \(key) IN (
                    SELECT \(key) FROM \(table) WHERE \(due) ORDER BY next_attempt_at, created_at LIMIT $4 \(lock))
                RETURNING \(columns)
                """,
                [.time(now), .time(now.addingTimeInterval(duration)), .uuid(lease), .integer(Int64(limit))])
        }
        // RETURNING follows no order.
        let created = columns.split(separator: ",").count - 1
        return rows.sorted { ($0[created].integer ?? 0) < ($1[created].integer ?? 0) }
    }
}
