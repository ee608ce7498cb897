public import Foundation
public import Logging
public import Privacy

/// Purges each class of personal data once it is older than its retention period. Every purge is
/// recorded in the ledger (class, cutoff, row count) in the same transaction, and logged.
public struct Retention: Sendable {
    let repository: any RetentionRepository
    let days: [RetentionClass: Int]
    let logger: Logger

    @discardableResult
    public func purgeOnce(now: Date = Date()) async throws -> [RetentionClass: Int] {
        var purged: [RetentionClass: Int] = [:]
        for (retention, days) in days {
            let cutoff = now.addingTimeInterval(-Double(days) * 86_400)
            let rows = try await repository.purge(retention, olderThan: cutoff, at: now)
            purged[retention] = rows
            if rows > 0 {
                logger.info(
                    "retention purge",
                    metadata: ["class": "\(retention.rawValue)", "rows": "\(rows)", "older_than_days": "\(days)"])
            }
        }
        return purged
    }
}
