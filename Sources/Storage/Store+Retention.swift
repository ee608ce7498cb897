public import Foundation
import Privacy

/// A kind of personal data with a retention period of its own.
public enum RetentionClass: String, Sendable, CaseIterable {
    /// Sessions that ended, or went unused, before the cutoff, with their refresh tokens.
    case sessions
    /// Audit records older than the cutoff. Their ledger entries (which hold no personal data) stay.
    case authEvents = "auth_events"
    /// Data-subject requests answered before the cutoff, with their state changes.
    case closedRequests = "closed_requests"
}

extension Store {
    /// Deletes the class's rows older than `cutoff` and records, in the same transaction, a ledger
    /// entry saying what was purged. Returns how many rows went.
    public func purge(_ retention: RetentionClass, olderThan cutoff: Date, at date: Date = Date()) async throws -> Int {
        let allowPurge = sql.allowAuditPurgeStatements
        return try await sql.transaction { tx in
            let purged: Int
            switch retention {
            case .sessions:
                let ended = "(revoked_at IS NOT NULL AND revoked_at < $1) OR last_used_at < $1"
                try await tx.execute(
                    "DELETE FROM refresh_tokens WHERE session_id IN (SELECT id FROM sessions WHERE \(ended))",
                    [.time(cutoff)])
                purged = try await tx.query("DELETE FROM sessions WHERE \(ended) RETURNING id", [.time(cutoff)]).count
            case .authEvents:
                for statement in allowPurge.on { try await tx.execute(statement) }
                purged = try await tx.query(
                    "DELETE FROM auth_events WHERE occurred_at < $1 RETURNING seq", [.time(cutoff)]
                ).count
                for statement in allowPurge.off { try await tx.execute(statement) }
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
