import Foundation
import Privacy
import Synchronization

/// `RetentionRepository` in memory, with the semantics of `SQLRetentionRepository`:
///
/// - `sessions`: a session goes when it was revoked before the cutoff or last used before it (with its
///   refresh tokens, which this model does not hold separately);
/// - `authEvents`: audit records that occurred before the cutoff;
/// - `closedRequests`: requests completed or rejected before the cutoff, with their events, taken from
///   the `InMemoryPrivacyRepository` given at creation (none without one).
///
/// Sessions and audit records are the rows a test adds with `addSession` and `addAuthEvent`. A purge
/// that removed something records a ledger entry (`retention:<class>:<time>`) with the class, cutoff
/// and count; every call is kept in `purges`, so a test can check the cutoffs it was given.
public final class InMemoryRetentionRepository: RetentionRepository, Sendable {
    public struct Purge: Sendable, Equatable {
        public let retention: RetentionClass
        public let cutoff: Date
        public let at: Date
        public let rows: Int
    }

    private struct SessionRow {
        var lastUsedAt: Date
        var revokedAt: Date?
    }

    private struct State {
        var sessions: [UUID: SessionRow] = [:]
        var authEvents: [UUID: Date] = [:]
        var purges: [Purge] = []
        var ledger: [String] = []
    }

    private let privacy: InMemoryPrivacyRepository?
    private let state = Mutex(State())

    public init(privacy: InMemoryPrivacyRepository? = nil) {
        self.privacy = privacy
    }

    public func addSession(id: UUID = UUID(), lastUsedAt: Date, revokedAt: Date? = nil) {
        state.withLock { $0.sessions[id] = SessionRow(lastUsedAt: lastUsedAt, revokedAt: revokedAt) }
    }

    public func addAuthEvent(id: UUID = UUID(), occurredAt: Date) {
        state.withLock { $0.authEvents[id] = occurredAt }
    }

    public var sessionCount: Int { state.withLock { $0.sessions.count } }
    public var authEventCount: Int { state.withLock { $0.authEvents.count } }

    /// Every purge asked for, in order, with what it removed.
    public var purges: [Purge] { state.withLock { $0.purges } }

    /// The references of the ledger entries written, oldest first.
    public var ledgerReferences: [String] { state.withLock { $0.ledger } }

    public func purge(_ retention: RetentionClass, olderThan cutoff: Date, at date: Date) async throws -> Int {
        let fromPrivacy = retention == .closedRequests ? privacy?.purgeClosedRequests(answeredBefore: cutoff) ?? 0 : 0
        return state.withLock { state in
            let purged: Int
            switch retention {
            case .sessions:
                let ended = state.sessions.filter { entry in
                    entry.value.revokedAt.map { $0 < cutoff } == true || entry.value.lastUsedAt < cutoff
                }
                for id in ended.keys { state.sessions[id] = nil }
                purged = ended.count
            case .authEvents:
                let old = state.authEvents.filter { $0.value < cutoff }
                for id in old.keys { state.authEvents[id] = nil }
                purged = old.count
            case .closedRequests:
                purged = fromPrivacy
            }
            state.purges.append(Purge(retention: retention, cutoff: cutoff, at: date, rows: purged))
            if purged > 0 {
                state.ledger.append(
                    "retention:\(retention.rawValue):\(Int64((date.timeIntervalSince1970 * 1_000_000).rounded()))")
            }
            return purged
        }
    }
}
