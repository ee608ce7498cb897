import Foundation
import Kernel
import Outbox

/// The lifecycle of data-subject requests: filing, verification, progress, answer, and the statutory
/// deadlines that run meanwhile.
public struct PrivacyService: Sendable {
    let repository: any PrivacyRepository
    let now: @Sendable () -> Date
    /// Nil: nobody is mailed (tests of the rules alone).
    let notices: RequestNotices?
    static let maximumReasonLength = 2000

    public init(
        repository: any PrivacyRepository, notices: RequestNotices? = nil,
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.repository = repository
        self.notices = notices
        // Both stores keep microseconds; rounding here makes what we return equal what we stored.
        self.now = { Date(timeIntervalSince1970: (now().timeIntervalSince1970 * 1_000_000).rounded() / 1_000_000) }
    }

    /// Files a request. A subject's own request starts as received; one filed on their behalf records
    /// how their identity was verified and starts as verified, unless it would change or destroy their
    /// data: then another member of staff must verify it.
    public func file(
        _ kind: RequestKind, for subjectID: UUID, by actor: UUID, identityVerification: String? = nil
    ) async throws -> DataSubjectRequest {
        let onBehalf = actor != subjectID
        if onBehalf {
            guard let verification = identityVerification, !verification.trimmingCharacters(in: .whitespaces).isEmpty
            else { throw PrivacyError.invalid("identityVerification: say how the subject's identity was verified") }
            try Self.checkReason(verification, field: "identityVerification")
        }
        let now = now()
        let request = DataSubjectRequest(
            id: UUID(), subjectID: subjectID, kind: kind,
            status: onBehalf && !kind.needsSecondPerson ? .verified : .received,
            receivedAt: now,
            dueAt: Deadlines.due(kind.regime, receivedAt: now), extensionReason: nil, rejectionReason: nil,
            filedBy: actor, identityVerification: onBehalf ? identityVerification : nil, updatedAt: now)
        try await repository.insertRequest(
            request,
            event: RequestEvent(
                requestID: request.id, from: nil, to: request.status, actor: actor, reason: identityVerification,
                at: now),
            queueing: try await mail(.requestReceived, about: request, at: now))
        return request
    }

    public func request(_ id: UUID) async throws -> DataSubjectRequest {
        guard let request = try await repository.request(id: id) else { throw PrivacyError.requestNotFound }
        return request
    }

    public func requests(of subjectID: UUID) async throws -> [DataSubjectRequest] {
        try await repository.requests(subjectID: subjectID)
    }

    public func queue(includeClosed: Bool = false, limit: Int = 500) async throws -> [DataSubjectRequest] {
        try await repository.queue(includeClosed: includeClosed, limit: limit)
    }

    public func events(of id: UUID) async throws -> [RequestEvent] {
        try await repository.events(requestID: id)
    }

    /// Moves a request on. Rejection needs a reason; verifying a request that changes or destroys data
    /// needs someone other than whoever filed it. `erased` is the address of a person whose erasure
    /// this completes, read before the erasure destroyed it, so they still hear that it is done.
    public func transition(
        _ id: UUID, to next: RequestStatus, by actor: UUID, reason: String?, erased: RequestNotices.Address? = nil
    ) async throws
        -> DataSubjectRequest
    {
        if next == .rejected {
            guard let reason, !reason.trimmingCharacters(in: .whitespaces).isEmpty else {
                throw PrivacyError.invalid("reason: a rejection needs a reason")
            }
        }
        if let reason { try Self.checkReason(reason, field: "reason") }
        let now = now()
        let outcome: MailTemplateName? =
            switch next {
            case .completed: .requestCompleted
            case .rejected: .requestRejected
            case .received, .verified, .inProgress: nil
            }
        var mail: [OutboundMail] = []
        if let outcome, notices != nil {
            mail = try await self.mail(outcome, about: try await request(id), reason: reason, at: now, erased: erased)
        }
        return try await repository.updateRequest(id: id, queueing: mail) { request in
            guard request.status.allows(next) else {
                throw PrivacyError.transitionRefused(from: request.status, to: next)
            }
            if next == .verified, request.kind.needsSecondPerson, request.filedBy == actor {
                throw PrivacyError.secondPersonRequired
            }
            var updated = request
            updated.status = next
            updated.updatedAt = now
            if next == .rejected { updated.rejectionReason = reason }
            return (
                updated,
                RequestEvent(requestID: id, from: request.status, to: next, actor: actor, reason: reason, at: now)
            )
        }
    }

    /// Extends the deadline once, with a recorded reason.
    public func extend(_ id: UUID, by actor: UUID, reason: String) async throws -> DataSubjectRequest {
        guard !reason.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw PrivacyError.invalid("reason: an extension needs a reason")
        }
        try Self.checkReason(reason, field: "reason")
        let now = now()
        var mail: [OutboundMail] = []
        if notices != nil {
            var extended = try await request(id)
            extended.dueAt = Deadlines.extended(extended.kind.regime, dueAt: extended.dueAt)
            mail = try await self.mail(.requestExtended, about: extended, reason: reason, at: now)
        }
        return try await repository.updateRequest(id: id, queueing: mail) { request in
            guard !request.status.isFinal else { throw PrivacyError.alreadyFinal }
            guard request.extensionReason == nil else { throw PrivacyError.alreadyExtended }
            var updated = request
            updated.dueAt = Deadlines.extended(request.kind.regime, dueAt: request.dueAt)
            updated.extensionReason = reason
            updated.updatedAt = now
            return (
                updated,
                RequestEvent(
                    requestID: id, from: request.status, to: request.status, actor: actor, reason: reason, at: now)
            )
        }
    }

    /// Records a note on an open request without changing its state, such as why staff excused a
    /// downstream system; the note is an event of the request like any transition.
    public func note(_ id: UUID, by actor: UUID, reason: String) async throws -> DataSubjectRequest {
        try Self.checkReason(reason, field: "reason")
        let now = now()
        return try await repository.updateRequest(id: id) { request in
            guard !request.status.isFinal else { throw PrivacyError.alreadyFinal }
            var updated = request
            updated.updatedAt = now
            return (
                updated,
                RequestEvent(
                    requestID: id, from: request.status, to: request.status, actor: actor, reason: reason, at: now)
            )
        }
    }

    private func mail(
        _ template: MailTemplateName, about request: DataSubjectRequest, reason: String? = nil, at date: Date,
        erased: RequestNotices.Address? = nil
    ) async throws -> [OutboundMail] {
        try await notices?.mail(template, about: request, reason: reason, at: date, erased: erased) ?? []
    }

    public func overdueCount() async throws -> Int {
        try await repository.overdueCount(at: now())
    }

    static func checkReason(_ text: String, field: String) throws {
        guard text.count <= maximumReasonLength else {
            throw PrivacyError.invalid("\(field): at most \(maximumReasonLength) characters")
        }
        guard !text.containsNUL else { throw PrivacyError.invalid("\(field): must not contain U+0000") }
    }
}
