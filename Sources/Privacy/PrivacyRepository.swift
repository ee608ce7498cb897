import Foundation
import Outbox

/// What data-subject requests need from a database; one SQL implementation serves both backends.
public protocol PrivacyRepository: Sendable {
    /// Stores a request with its first event. Throws `PrivacyError.duplicate` when the subject already
    /// has an open request of that kind.
    func insertRequest(_ request: DataSubjectRequest, event: RequestEvent, queueing mail: [OutboundMail]) async throws
    func request(id: UUID) async throws -> DataSubjectRequest?
    func requests(subjectID: UUID) async throws -> [DataSubjectRequest]
    /// Open requests first by due date, then answered ones, newest first; at most `limit`.
    func queue(includeClosed: Bool, limit: Int) async throws -> [DataSubjectRequest]
    /// Reads the request, lets `change` decide its new state, and stores that state with its event and
    /// queues `mail`, in one transaction.
    func updateRequest(
        id: UUID, queueing mail: [OutboundMail],
        _ change: @escaping @Sendable (DataSubjectRequest) throws -> (DataSubjectRequest, RequestEvent)
    ) async throws -> DataSubjectRequest
    func events(requestID: UUID) async throws -> [RequestEvent]
    func overdueCount(at: Date) async throws -> Int

    /// Every subject whose processing is restricted (GDPR Art. 18), with the time it began.
    func restrictions() async throws -> [String: Date]
    /// Restricts processing for `subject`; restricting again keeps the first time.
    func restrict(subject: String, requestID: UUID?, at: Date) async throws
    /// Lifts a restriction; false when there was none.
    func liftRestriction(subject: String, at: Date) async throws -> Bool

    /// Stores a staff access with its ledger entry, in one transaction.
    func recordAccess(_ access: StaffAccess) async throws
    /// Staff accesses to `subject`'s data, newest first; at most `limit`.
    func accesses(subject: String, limit: Int) async throws -> [StaffAccess]
}

extension PrivacyRepository {
    /// Stores a request that nobody is told of by mail (tests, and subjects without an account).
    public func insertRequest(_ request: DataSubjectRequest, event: RequestEvent) async throws {
        try await insertRequest(request, event: event, queueing: [])
    }

    public func updateRequest(
        id: UUID, _ change: @escaping @Sendable (DataSubjectRequest) throws -> (DataSubjectRequest, RequestEvent)
    ) async throws -> DataSubjectRequest {
        try await updateRequest(id: id, queueing: [], change)
    }
}
