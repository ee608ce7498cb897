import Foundation
import Kernel
import Outbox
import Privacy
import Synchronization

/// `PrivacyRepository` in memory, with the semantics of `SQLPrivacyRepository`: one open request per
/// subject and kind (a second, or a reused id, is `PrivacyError.duplicate`), updates decided and stored
/// under one lock (a refused change writes nothing), the queue's order, and restrictions that keep
/// their first time. Every state change and every restriction change is given the next ledger sequence,
/// as the SQL writes a ledger entry in the same transaction.
public final class InMemoryPrivacyRepository: PrivacyRepository, Sendable {
    private struct State {
        var requests: [UUID: DataSubjectRequest] = [:]
        /// Every request event in insertion order (`dsr_events.seq`).
        var events: [RequestEvent] = []
        var restrictions: [String: (since: Date, requestID: UUID?)] = [:]
        var accesses: [StaffAccess] = []
        /// The ledger references written, in sequence order: entry n is at index n - 1.
        var ledger: [String] = []
        /// Mail the writes queued, in order.
        var queuedMail: [OutboundMail] = []
    }

    private let state = Mutex(State())

    public init() {}

    /// The references of the ledger entries this repository wrote, oldest first (`dsr:<id>`,
    /// `restriction:<subject>`).
    public var ledgerReferences: [String] {
        state.withLock { $0.ledger }
    }

    /// The mail the writes queued, oldest first.
    public var queuedMail: [OutboundMail] {
        state.withLock { $0.queuedMail }
    }

    private static func isOpen(_ request: DataSubjectRequest) -> Bool { !request.status.isFinal }

    public func insertRequest(
        _ request: DataSubjectRequest, event: RequestEvent, queueing mail: [OutboundMail]
    )
        async throws
    {
        try state.withLock { state in
            guard state.requests[request.id] == nil else { throw PrivacyError.duplicate }
            if Self.isOpen(request),
                state.requests.values.contains(where: {
                    $0.subjectID == request.subjectID && $0.kind == request.kind && Self.isOpen($0)
                })
            {
                throw PrivacyError.duplicate
            }
            guard event.requestID == request.id else {
                throw InMemoryConstraintViolation("dsr_events.request_id references no request")
            }
            state.requests[request.id] = request
            state.events.append(event)
            state.ledger.append("dsr:\(request.id.lowercasedString)")
            state.queuedMail += mail
        }
    }

    public func request(id: UUID) async throws -> DataSubjectRequest? {
        state.withLock { $0.requests[id] }
    }

    public func requests(subjectID: UUID) async throws -> [DataSubjectRequest] {
        state.withLock { state in
            state.requests.values.filter { $0.subjectID == subjectID }.sorted { $0.receivedAt > $1.receivedAt }
        }
    }

    public func queue(includeClosed: Bool, limit: Int) async throws -> [DataSubjectRequest] {
        state.withLock { state in
            let open = Array(
                state.requests.values.filter(Self.isOpen)
                    .sorted { ($0.dueAt, $0.receivedAt) < ($1.dueAt, $1.receivedAt) }
                    .prefix(max(0, limit)))
            guard includeClosed, open.count < limit else { return open }
            let closed = state.requests.values.filter { !Self.isOpen($0) }
                .sorted { $0.updatedAt > $1.updatedAt }
                .prefix(limit - open.count)
            return open + closed
        }
    }

    public func updateRequest(
        id: UUID, queueing mail: [OutboundMail],
        _ change: @escaping @Sendable (DataSubjectRequest) throws -> (DataSubjectRequest, RequestEvent)
    ) async throws -> DataSubjectRequest {
        try state.withLock { state in
            guard let current = state.requests[id] else { throw PrivacyError.requestNotFound }
            let (proposed, event) = try change(current)
            // The UPDATE writes these columns only; the rest of the row stays as it was.
            let updated = DataSubjectRequest(
                id: current.id, subjectID: current.subjectID, kind: current.kind, status: proposed.status,
                receivedAt: current.receivedAt, dueAt: proposed.dueAt, extensionReason: proposed.extensionReason,
                rejectionReason: proposed.rejectionReason, filedBy: current.filedBy,
                identityVerification: current.identityVerification, updatedAt: proposed.updatedAt)
            if Self.isOpen(updated),
                state.requests.values.contains(where: {
                    $0.id != id && $0.subjectID == updated.subjectID && $0.kind == updated.kind && Self.isOpen($0)
                })
            {
                throw InMemoryConstraintViolation("dsr_requests_one_open")
            }
            guard state.requests[event.requestID] != nil else {
                throw InMemoryConstraintViolation("dsr_events.request_id references no request")
            }
            state.requests[id] = updated
            state.events.append(event)
            state.ledger.append("dsr:\(event.requestID.lowercasedString)")
            state.queuedMail += mail
            return updated
        }
    }

    public func events(requestID: UUID) async throws -> [RequestEvent] {
        state.withLock { state in state.events.filter { $0.requestID == requestID } }
    }

    public func overdueCount(at date: Date) async throws -> Int {
        state.withLock { state in state.requests.values.filter { Self.isOpen($0) && $0.dueAt < date }.count }
    }

    // MARK: Restriction

    public func restrictions() async throws -> [String: Date] {
        state.withLock { state in state.restrictions.mapValues { $0.since } }
    }

    public func restrict(subject: String, requestID: UUID?, at date: Date) async throws {
        state.withLock { state in
            guard state.restrictions[subject] == nil else { return }
            state.restrictions[subject] = (since: date, requestID: requestID)
            state.ledger.append("restriction:\(subject)")
        }
    }

    public func liftRestriction(subject: String, at date: Date) async throws -> Bool {
        state.withLock { state in
            guard state.restrictions.removeValue(forKey: subject) != nil else { return false }
            state.ledger.append("restriction:\(subject)")
            return true
        }
    }

    public func recordAccess(_ access: StaffAccess) async throws {
        state.withLock { state in
            state.accesses.append(access)
            state.ledger.append("access:\(access.id.lowercasedString)")
        }
    }

    public func accesses(subject: String, limit: Int) async throws -> [StaffAccess] {
        state.withLock { state in Array(state.accesses.reversed().filter { $0.subject == subject }.prefix(limit)) }
    }

    // MARK: Retention

    /// Deletes the requests answered before `cutoff` with their events, as the retention purge of
    /// `closed_requests` does; returns how many requests went.
    func purgeClosedRequests(answeredBefore cutoff: Date) -> Int {
        state.withLock { state in
            let gone = Set(state.requests.values.filter { !Self.isOpen($0) && $0.updatedAt < cutoff }.map(\.id))
            guard !gone.isEmpty else { return 0 }
            for id in gone { state.requests[id] = nil }
            state.events.removeAll { gone.contains($0.requestID) }
            return gone.count
        }
    }
}
