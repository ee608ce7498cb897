public import Foundation

/// A kind of personal data with a retention period of its own.
public enum RetentionClass: String, Sendable, CaseIterable {
    /// Sessions that ended, or went unused, before the cutoff, with their refresh tokens.
    case sessions
    /// Audit records older than the cutoff. Their ledger entries (which hold no personal data) stay.
    case authEvents = "auth_events"
    /// Data-subject requests answered before the cutoff, with their state changes.
    case closedRequests = "closed_requests"
}

/// What the retention job needs from a database.
public protocol RetentionRepository: Sendable {
    /// Deletes the class's rows older than `cutoff` and records, in the same transaction, a ledger
    /// entry saying what was purged. Returns how many rows went.
    func purge(_ retention: RetentionClass, olderThan cutoff: Date, at date: Date) async throws -> Int
}
