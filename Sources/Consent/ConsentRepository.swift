import Foundation

/// A request's claim on an `Idempotency-Key`: stored with the events it wrote, in the same transaction.
public struct IdempotencyClaim: Sendable, Equatable {
    /// Who used the key: keys of different callers never collide.
    public var scope: String
    public var key: String
    /// A digest of the request, so a key reused for a different request is refused, not replayed.
    public var fingerprint: String

    public init(scope: String, key: String, fingerprint: String) {
        self.scope = scope
        self.key = key
        self.fingerprint = fingerprint
    }
}

public enum AppendOutcome: Sendable, Equatable {
    /// The events are durable.
    case recorded([ConsentEvent])
    /// The idempotency key was seen before: these are the events the first request recorded.
    case replayed([ConsentEvent])

    public var events: [ConsentEvent] {
        switch self {
        case .recorded(let events), .replayed(let events): events
        }
    }
}

/// A position in a subject's history, newest first. Opaque to callers.
public struct HistoryCursor: Sendable, Equatable {
    public var sequence: Int64
    public init(sequence: Int64) { self.sequence = sequence }
}

public struct HistoryPage: Sendable, Equatable {
    public var events: [ConsentEvent]
    public var next: HistoryCursor?

    public init(events: [ConsentEvent], next: HistoryCursor?) {
        self.events = events
        self.next = next
    }
}

/// Durable storage for purposes and the consent log. Implemented for SQLite and PostgreSQL in `Storage`.
public protocol ConsentRepository: Sendable {
    func allPurposes() async throws -> [Purpose]
    /// Throws ``ConsentError/purposeExists(_:)`` when the id is taken.
    func insertPurpose(_ purpose: Purpose) async throws
    /// Changes title, description, the sale-or-sharing flag and the lawful basis; notices are untouched.
    func updatePurpose(
        id: PurposeID, title: String, description: String, isSaleOrSharing: Bool, lawfulBasis: LawfulBasis
    ) async throws
    /// Adds the next notice version and returns it.
    func appendNotice(purposeID: PurposeID, text: String?, url: String?, effectiveAt: Date) async throws -> Notice

    /// Appends events atomically: all of them are durable when this returns, or none is written.
    func append(_ events: [ConsentEvent], claim: IdempotencyClaim?) async throws -> AppendOutcome
    /// The newest event per purpose for one subject, in log order.
    func latestEvents(subjectID: SubjectID) async throws -> [ConsentEvent]
    /// One event by its id, if it exists.
    func event(id: UUID) async throws -> ConsentEvent?
    /// A page of one subject's history, newest first, starting after `cursor`.
    func history(subjectID: SubjectID, after cursor: HistoryCursor?, limit: Int) async throws -> HistoryPage

    /// Succeeds when the database answers.
    func ping() async throws
}
