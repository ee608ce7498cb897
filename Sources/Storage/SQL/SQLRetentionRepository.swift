import Foundation
import Kernel
import Privacy

/// Retention purges on either backend, each with its ledger entry in the same transaction.
struct SQLRetentionRepository: RetentionRepository {
    let database: any SQLDatabase

    func purge(_ retention: RetentionClass, olderThan cutoff: Date, at date: Date) async throws -> Int {
        let auditPurge = database.auditPurge
        return try await database.transaction { tx in
            let purged: Int
            switch retention {
            case .sessions:
                let ended = "(revoked_at IS NOT NULL AND revoked_at < $1) OR last_used_at < $1"
                try await tx.execute(
                    "DELETE FROM refresh_tokens WHERE session_id IN (SELECT id FROM sessions WHERE \(ended))",
                    [.time(cutoff)])
                purged = try await tx.query("DELETE FROM sessions WHERE \(ended) RETURNING id", [.time(cutoff)]).count
            case .authEvents:
                for statement in auditPurge.before { try await tx.execute(statement) }
                purged = try await tx.query(auditPurge.purge, [.time(cutoff)]).count
                for statement in auditPurge.after { try await tx.execute(statement) }
            case .closedRequests:
                let closed = "status IN ('completed', 'rejected') AND updated_at < $1"
                try await tx.execute(
                    "DELETE FROM dsr_events WHERE request_id IN (SELECT id FROM dsr_requests WHERE \(closed))",
                    [.time(cutoff)])
                purged = try await tx.query("DELETE FROM dsr_requests WHERE \(closed) RETURNING id", [.time(cutoff)])
                    .count
            }
            guard purged > 0 else { return 0 }
            _ = try await tx.appendLedger([
                LedgerRecord(
                    type: "retention", id: "\(retention.rawValue):\(date.microsecondsSince1970)",
                    fields: [
                        "class": retention.rawValue, "cutoff": String(cutoff.microsecondsSince1970),
                        "rows": String(purged),
                    ])
            ])
            return purged
        }
    }
}
