import Consent
public import Foundation
public import Identity
import Kernel
public import Privacy

/// Carrying out a verified data-subject request and completing it, for the API and the portal alike.
public struct RightsFulfilment: Sendable {
    let privacy: PrivacyService
    let identity: IdentityService
    let consents: ConsentService
    let restrictions: RestrictionRegistry
    let erasures: any ErasureRepository
    let fanOut: RequestFanOut

    public struct Erasure: Sendable {
        public let request: DataSubjectRequest
        public let subject: String
        public let erasedAt: Date
    }

    /// The corrected values a rectification or correction request carries.
    public struct Correction: Sendable {
        public var email: String?
        public var displayName: String?

        public init(email: String?, displayName: String?) {
            self.email = email
            self.displayName = displayName
        }
    }

    public struct Fulfilment: Sendable {
        public let request: DataSubjectRequest
        /// What was done: `restricted`, `withdrawn` (with the purposes), `rectified` or `erased`.
        public let outcome: String
        public let purposes: [String]?
    }

    /// Fulfils a verified erasure (GDPR Art. 17) or deletion (CCPA) request: the account's credentials
    /// and sessions go, the subject's data keys are destroyed, and the request completes. Repeating it
    /// answers the same erasure.
    public func erase(_ requestID: UUID, by staff: UUID) async throws -> Erasure {
        var found = try await privacy.request(requestID)
        guard found.kind == .erasure || found.kind == .delete else { throw ServiceError.notAnErasure }
        let subject = found.subjectID.lowercasedString
        if found.status == .completed || found.status == .inProgress,
            let erasedAt = try await erasures.erasure(of: subject)
        {
            if found.status == .inProgress {
                found = try await complete(found, outcome: Self.erasedOutcome, by: staff, erased: nil)
            }
            return Erasure(request: found, subject: subject, erasedAt: erasedAt)
        }
        guard found.status == .verified || found.status == .inProgress else {
            throw PrivacyError.transitionRefused(from: found.status, to: .completed)
        }
        try await requireAdminForStaffAccount(found.subjectID, actor: staff)
        if found.status == .verified {
            found = try await privacy.transition(found.id, to: .inProgress, by: staff, reason: nil)
        }
        // Read before the erasure destroys it: the person is told at this address that it is done.
        let address = try await identity.account(id: found.subjectID).map { ($0.email.normalized, $0.locale) }
        try await identity.eraseAccount(found.subjectID, requestedBy: staff)
        let erasedAt = try await erasures.shred(subject: subject, requestID: found.id, at: Date())
        found = try await complete(found, outcome: Self.erasedOutcome, by: staff, erased: address)
        return Erasure(request: found, subject: subject, erasedAt: erasedAt)
    }

    /// Carries out a verified request of a kind QSPP can act on by itself, then completes it:
    /// restriction (processing frozen), objection (every purpose based on legitimate interests
    /// withdrawn), opt-out of sale or sharing (every such purpose withdrawn), rectification and
    /// correction (`correction` is asked for only then), erasure and deletion (crypto-shredding).
    /// Access, portability and know are delivered as an export.
    public func fulfil(
        _ requestID: UUID, by staff: UUID, client: ClientInfo,
        correction: () async throws -> Correction
    ) async throws -> Fulfilment {
        let found = try await privacy.request(requestID)
        if found.kind == .erasure || found.kind == .delete {
            let erased = try await erase(requestID, by: staff)
            return Fulfilment(request: erased.request, outcome: "erased", purposes: nil)
        }
        guard found.status == .verified || found.status == .inProgress else {
            throw PrivacyError.transitionRefused(from: found.status, to: .completed)
        }
        let subject = found.subjectID.lowercasedString
        var purposes: [String]?
        let outcome: String
        switch found.kind {
        case .restriction:
            try await restrictions.restrict(subject, requestID: found.id)
            outcome = "restricted"
        case .objection, .optOut:
            let targets = try await consents.purposes().filter {
                found.kind == .objection ? $0.lawfulBasis == .legitimateInterests : $0.isSaleOrSharing
            }
            if !targets.isEmpty {
                _ = try await consents.record(
                    targets.map { DecisionRequest(purposeID: $0.id, decision: .withdrawn, method: .explicit) },
                    for: try SubjectID(validating: subject), origin: RequestOrigin())
            }
            outcome = "withdrawn"
            purposes = targets.map(\.id.rawValue)
        case .rectification, .correct:
            let input = try await correction()
            guard input.email != nil || input.displayName != nil else { throw ServiceError.correctionMissing }
            try await requireAdminForStaffAccount(found.subjectID, actor: staff)
            _ = try await identity.rectify(
                found.subjectID, email: input.email, displayName: input.displayName, by: staff, client: client)
            outcome = "rectified"
        case .access, .portability, .know:
            throw ServiceError.deliverExport(subject: subject)
        case .erasure, .delete:
            throw ServiceError.notAnErasure
        }
        var updated = found
        if updated.status == .verified {
            updated = try await privacy.transition(found.id, to: .inProgress, by: staff, reason: nil)
        }
        updated = try await complete(updated, outcome: outcome, by: staff, erased: nil)
        return Fulfilment(request: updated, outcome: outcome, purposes: purposes)
    }

    static let erasedOutcome = "erased by crypto-shredding"

    /// Moves a request on as staff ask; it completes only once every downstream system is settled.
    public func transition(
        _ id: UUID, to next: RequestStatus, by staff: UUID, reason: String?
    ) async throws -> DataSubjectRequest {
        if next == .completed {
            let open = try await fanOut.openTasks(of: try await privacy.request(id)).count
            guard open == 0 else { throw ServiceError.awaitingSystems(open) }
        }
        return try await privacy.transition(id, to: next, by: staff, reason: reason)
    }

    /// Completes an in-progress request whose own part is done, unless downstream systems still have
    /// open tasks: then it stays in progress, to complete when the last of them is settled.
    private func complete(
        _ request: DataSubjectRequest, outcome: String, by staff: UUID, erased: RequestNotices.Address?
    ) async throws -> DataSubjectRequest {
        guard try await fanOut.openTasks(of: request).isEmpty else {
            try await fanOut.awaitSystems(request, outcome: outcome, by: staff, erased: erased)
            return try await privacy.request(request.id)
        }
        return try await privacy.transition(request.id, to: .completed, by: staff, reason: outcome, erased: erased)
    }

    /// Separation of duties: an administrator's or a DPO's account is erased or changed by an
    /// administrator, never by a DPO alone.
    private func requireAdminForStaffAccount(_ subject: UUID, actor: UUID) async throws {
        guard let account = try await identity.account(id: subject),
            account.roles.contains(.admin) || account.roles.contains(.dpo)
        else { return }
        guard try await identity.account(id: actor)?.roles.contains(.admin) == true else {
            throw ServiceError.staffAccountNeedsAdmin
        }
    }

    /// Ends a restriction (the person's request to restrict has run its course); false when none.
    public func liftRestriction(of subject: UUID) async throws -> Bool {
        try await restrictions.lift(subject.lowercasedString)
    }

    /// Completes an access, portability or know request once staff have delivered its export, and
    /// every downstream system has answered.
    public func completeDelivery(_ requestID: UUID, by staff: UUID) async throws -> DataSubjectRequest {
        let found = try await privacy.request(requestID)
        guard [.access, .portability, .know].contains(found.kind) else {
            throw PrivacyError.transitionRefused(from: found.status, to: .completed)
        }
        // The export carries what the systems returned, so it is delivered once they all answered.
        if found.status == .verified || found.status == .inProgress {
            let open = try await fanOut.openTasks(of: found).count
            guard open == 0 else { throw ServiceError.awaitingSystems(open) }
        }
        if found.status == .verified {
            _ = try await privacy.transition(requestID, to: .inProgress, by: staff, reason: nil)
        }
        return try await privacy.transition(requestID, to: .completed, by: staff, reason: "export delivered")
    }
}
