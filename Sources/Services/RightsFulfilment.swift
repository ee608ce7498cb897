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
        if found.status == .completed, let erasedAt = try await erasures.erasure(of: subject) {
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
        found = try await privacy.transition(
            found.id, to: .completed, by: staff, reason: "erased by crypto-shredding", erased: address)
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
        updated = try await privacy.transition(found.id, to: .completed, by: staff, reason: outcome)
        return Fulfilment(request: updated, outcome: outcome, purposes: purposes)
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

    /// Completes an access, portability or know request once staff have delivered its export.
    public func completeDelivery(_ requestID: UUID, by staff: UUID) async throws -> DataSubjectRequest {
        let found = try await privacy.request(requestID)
        guard [.access, .portability, .know].contains(found.kind) else {
            throw PrivacyError.transitionRefused(from: found.status, to: .completed)
        }
        if found.status == .verified {
            _ = try await privacy.transition(requestID, to: .inProgress, by: staff, reason: nil)
        }
        return try await privacy.transition(requestID, to: .completed, by: staff, reason: "export delivered")
    }
}
