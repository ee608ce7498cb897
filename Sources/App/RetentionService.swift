import Foundation
import Logging
import ServiceLifecycle
import Storage

/// Purges each class of personal data once it is older than its retention period
/// (`QSPP_RETENTION_*_DAYS`): a minute after start, then hourly. Every purge is recorded in the
/// ledger (class, cutoff, row count) and logged. Replicas may all run it: a purge is idempotent.
struct RetentionService: Service {
    let services: AppServices
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            var wait = Duration.seconds(60)
            while !Task.isCancelled {
                do {
                    try await Task.sleep(for: wait)
                    wait = .seconds(3600)
                    try await purgeOnce()
                } catch is CancellationError {
                    return
                } catch {
                    logger.warning("retention run failed", metadata: ["error": "\(type(of: error))"])
                }
            }
        }
    }

    @discardableResult
    func purgeOnce(now: Date = Date()) async throws -> [RetentionClass: Int] {
        var purged: [RetentionClass: Int] = [:]
        for (retention, days) in services.configuration.retentionDays {
            let cutoff = now.addingTimeInterval(-Double(days) * 86_400)
            let rows = try await services.store.purge(retention, olderThan: cutoff, at: now)
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
