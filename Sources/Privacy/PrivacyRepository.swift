import Foundation

/// What data-subject requests need from a database; one SQL implementation serves both backends.
public protocol PrivacyRepository: Sendable {
    /// Stores a request with its first event. Throws `PrivacyError.duplicate` when the subject already
    /// has an open request of that kind.
    func insertRequest(_ request: DataSubjectRequest, event: RequestEvent) async throws
    func request(id: UUID) async throws -> DataSubjectRequest?
    func requests(subjectID: UUID) async throws -> [DataSubjectRequest]
    /// Open requests first by due date, then answered ones, newest first; at most `limit`.
    func queue(includeClosed: Bool, limit: Int) async throws -> [DataSubjectRequest]
    /// Reads the request, lets `change` decide its new state, and stores that state with its event,
    /// in one transaction.
    func updateRequest(
        id: UUID, _ change: @escaping @Sendable (DataSubjectRequest) throws -> (DataSubjectRequest, RequestEvent)
    ) async throws -> DataSubjectRequest
    func events(requestID: UUID) async throws -> [RequestEvent]
    func overdueCount(at: Date) async throws -> Int
}
