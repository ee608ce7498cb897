import Consent
import Foundation
import Identity
import Privacy
import QSPPTestSupport
import Testing

@testable import Services

/// `RightsFulfilment` over the in-memory repositories: what each kind of verified request does to the
/// person's account, data keys, consents and restriction, and how the request is completed.
@Suite("Rights fulfilment in memory")
struct RightsFulfilmentTests {
    let staff = UUID()
    let secondStaff = UUID()
    let marketing = try! PurposeID(validating: "marketing")
    let sharing = try! PurposeID(validating: "third_party_sharing")

    /// A correction that must not be asked for.
    static func noCorrection() -> RightsFulfilment.Correction {
        Issue.record("a correction was asked for a request that is not a rectification")
        return RightsFulfilment.Correction(email: nil, displayName: nil)
    }

    func fileVerified(
        _ kind: RequestKind, for subject: UUID, in services: InMemoryServices
    ) async throws
        -> DataSubjectRequest
    {
        let request = try await services.privacy.file(
            kind, for: subject, by: staff, identityVerification: "identity document checked")
        guard kind.needsSecondPerson else {
            #expect(request.status == .verified)
            return request
        }
        // Filed by one member of staff, so verified by another.
        #expect(request.status == .received)
        return try await services.privacy.transition(request.id, to: .verified, by: secondStaff, reason: nil)
    }

    // MARK: Erasure

    @Test func aDPOAloneCannotEraseOrRectifyAStaffAccount() async throws {
        let services = try InMemoryServices()
        let administrator = try await services.register("second-admin@example.com")
        try await services.identity.setRoles(of: administrator, to: [.user, .admin])
        let officer = try await services.register("officer@example.com")
        try await services.identity.setRoles(of: officer, to: [.user, .dpo])
        let colleague = try await services.register("colleague-dpo@example.com")
        try await services.identity.setRoles(of: colleague, to: [.user, .dpo])

        let erasure = try await fileVerified(.erasure, for: colleague.id, in: services)
        await #expect(throws: ServiceError.staffAccountNeedsAdmin) {
            _ = try await services.rights.erase(erasure.id, by: officer.id)
        }
        #expect(try await services.identity.account(id: colleague.id) != nil, "nothing was erased")
        #expect(try await services.privacy.request(erasure.id).status == .verified)

        let rectification = try await fileVerified(.rectification, for: colleague.id, in: services)
        await #expect(throws: ServiceError.staffAccountNeedsAdmin) {
            _ = try await services.rights.fulfil(rectification.id, by: officer.id, client: ClientInfo()) {
                RightsFulfilment.Correction(email: "taken-over@example.com", displayName: nil)
            }
        }
        #expect(try await services.identity.account(id: colleague.id)?.email.normalized == "colleague-dpo@example.com")

        let erased = try await services.rights.erase(erasure.id, by: administrator.id)
        #expect(erased.request.status == .completed)
        #expect(try await services.identity.account(id: colleague.id) == nil)
    }

    @Test func erasureDeletesTheAccountEndsItsSessionsAndShredsTheSubjectOnce() async throws {
        let services = try InMemoryServices()
        let account = try await services.register("erase-me@example.com")
        let client = ClientInfo(ipAddress: "192.0.2.10", userAgent: "Erased Browser")
        let grant = try await services.logIn("erase-me@example.com", from: client)
        // Sealed for the person, and readable until the erasure.
        #expect(try await services.identityRepository.session(id: grant.sessionID)?.client == client)
        #expect(services.erasureRepository.keys(of: account.subjectID) > 0)
        let request = try await fileVerified(.erasure, for: account.id, in: services)

        let erased = try await services.rights.erase(request.id, by: staff)

        #expect(erased.subject == account.subjectID)
        #expect(erased.request.status == .completed)
        let events = try await services.privacy.events(of: request.id)
        // Filed by staff, verified by a second person, then carried out.
        #expect(events.map(\.to) == [.received, .verified, .inProgress, .completed])
        #expect(events.last?.reason == "erased by crypto-shredding")
        // The person still hears that it is done, at the address read before the erasure, sealed under
        // a key of the notice's own, so the shredding of theirs did not drop it.
        let notice = try #require(services.privacyRepository.queuedMail.last)
        #expect(notice.template == .requestCompleted && notice.recipient == "erase-me@example.com")
        #expect(notice.subject == RequestNotices.erasureNoticeSubject(request) && notice.values["link"] == nil)
        #expect(notice.values["kind_erasure"] == "yes")
        #expect(try await services.erasureRepository.erasure(of: account.subjectID) == erased.erasedAt)
        #expect(services.erasureRepository.ledgerReferences == ["erasure:\(account.subjectID)"])
        #expect(services.erasureRepository.keys(of: account.subjectID) == 0)

        // The credentials are gone, the session is revoked and its refresh tokens with it.
        #expect(try await services.identity.account(id: account.id) == nil)
        #expect(try await services.identityRepository.account(email: EmailAddress("erase-me@example.com")) == nil)
        let session = try #require(try await services.identityRepository.session(id: grant.sessionID))
        #expect(session.revokedAt != nil)
        #expect(services.identityRepository.refreshTokens(sessionID: grant.sessionID).isEmpty)
        await #expect(throws: IdentityError.invalidRefreshToken) {
            _ = try await services.identity.refresh(refreshToken: grant.refreshToken, client: client)
        }
        // What was sealed for the person no longer opens: the session's and the login record's client.
        #expect(session.client == ClientInfo())
        let audit = try await services.identity.authEvents(userID: account.id)
        let login = try #require(audit.first { $0.kind == .loginSucceeded })
        #expect(login.client == ClientInfo())
        #expect(login.sessionID == grant.sessionID)
        let deletions = audit.filter { $0.kind == .accountDeleted }
        #expect(deletions.map(\.details) == [["by": staff.uuidString.lowercased()]])

        // Again: the same erasure answers, and nothing more is written.
        let again = try await services.rights.erase(request.id, by: UUID())
        #expect(again.erasedAt == erased.erasedAt)
        #expect(again.request == erased.request)
        #expect(try await services.privacy.events(of: request.id).count == 4)
        #expect(services.erasureRepository.ledgerReferences.count == 1)
        #expect(try await services.identity.authEvents(userID: account.id).count == audit.count)

        // The email is free again, whatever its case.
        let newcomer = try await services.register("Erase-Me@Example.com")
        #expect(newcomer.id != account.id)
    }

    @Test func onlyAVerifiedErasureOrDeletionRequestErases() async throws {
        let services = try InMemoryServices()
        let account = try await services.register("keep-me@example.com")
        let own = try await services.privacy.file(.erasure, for: account.id, by: account.id)
        #expect(own.status == .received)
        await #expect(throws: PrivacyError.transitionRefused(from: .received, to: .completed)) {
            _ = try await services.rights.erase(own.id, by: staff)
        }
        let access = try await fileVerified(.access, for: account.id, in: services)
        await #expect(throws: ServiceError.notAnErasure) {
            _ = try await services.rights.erase(access.id, by: staff)
        }
        _ = try await services.privacy.transition(own.id, to: .rejected, by: staff, reason: "not the person")
        await #expect(throws: PrivacyError.transitionRefused(from: .rejected, to: .completed)) {
            _ = try await services.rights.erase(own.id, by: staff)
        }
        // Nothing was erased or moved on.
        #expect(try await services.identity.account(id: account.id)?.email.normalized == "keep-me@example.com")
        #expect(try await services.erasureRepository.erasure(of: account.subjectID) == nil)
        #expect(services.erasureRepository.keys(of: account.subjectID) > 0)
        #expect(try await services.privacy.request(access.id).status == .verified)

        // A CCPA deletion erases too, and `fulfil` hands it to `erase`.
        let deletion = try await fileVerified(.delete, for: account.id, in: services)
        let done = try await services.rights.fulfil(deletion.id, by: staff, client: ClientInfo()) {
            Self.noCorrection()
        }
        #expect(done.outcome == "erased")
        #expect(done.purposes == nil)
        #expect(done.request.status == .completed)
        #expect(try await services.identity.account(id: account.id) == nil)
        #expect(try await services.erasureRepository.erasure(of: account.subjectID) != nil)
    }

    @Test func erasingASubjectWithoutAnAccountStillShredsAndCompletes() async throws {
        let services = try InMemoryServices()
        let person = UUID()
        let subject = person.uuidString.lowercased()
        services.erasureRepository.storeKey(subject: subject)
        let request = try await fileVerified(.erasure, for: person, in: services)
        _ = try await services.privacy.transition(request.id, to: .inProgress, by: staff, reason: nil)

        let erased = try await services.rights.erase(request.id, by: staff)

        #expect(erased.request.status == .completed)
        #expect(
            try await services.privacy.events(of: request.id).map(\.to) == [
                .received, .verified, .inProgress, .completed,
            ])
        #expect(services.erasureRepository.keys(of: subject) == 0)
        // No account, so no deletion to audit.
        #expect(try await services.identity.authEvents(userID: person).isEmpty)
    }

    // MARK: Restriction, objection, opt-out

    @Test func aRestrictionFreezesProcessingUntilItIsLifted() async throws {
        let services = try InMemoryServices()
        let person = UUID()
        let subject = person.uuidString.lowercased()
        let request = try await fileVerified(.restriction, for: person, in: services)

        let done = try await services.rights.fulfil(request.id, by: staff, client: ClientInfo()) {
            Self.noCorrection()
        }

        #expect(done.outcome == "restricted")
        #expect(done.purposes == nil)
        #expect(done.request.status == .completed)
        #expect(try await services.privacy.events(of: request.id).last?.reason == "restricted")
        #expect(try await services.restrictions.isRestricted(subject))
        #expect(services.privacyRepository.ledgerReferences.contains("restriction:\(subject)"))
        await #expect(throws: PrivacyError.transitionRefused(from: .completed, to: .completed)) {
            _ = try await services.rights.fulfil(request.id, by: staff, client: ClientInfo()) { Self.noCorrection() }
        }

        #expect(try await services.rights.liftRestriction(of: person))
        #expect(try await services.restrictions.isRestricted(subject) == false)
        #expect(try await services.rights.liftRestriction(of: person) == false)
    }

    @Test func anObjectionWithdrawsLegitimateInterestsAndAnOptOutSaleOrSharingOnly() async throws {
        let services = try InMemoryServices()
        // The seeded purposes are all based on consent: an objection has nothing to withdraw.
        let bystander = UUID()
        let idle = try await fileVerified(.objection, for: bystander, in: services)
        let nothing = try await services.rights.fulfil(idle.id, by: staff, client: ClientInfo()) {
            Self.noCorrection()
        }
        #expect(nothing.outcome == "withdrawn")
        #expect(nothing.purposes == [])
        #expect(nothing.request.status == .completed)
        #expect(services.consentRepository.storedEvents.isEmpty)

        let fraud = try PurposeID(validating: "fraud_prevention")
        _ = try await services.consents.createPurpose(
            PurposeDraft(
                id: fraud, title: "Fraud prevention", description: "Checks on payments", isSaleOrSharing: false,
                lawfulBasis: .legitimateInterests, noticeText: "We check payments for fraud.", noticeURL: nil,
                effectiveAt: nil))
        let person = UUID()
        let subject = try SubjectID(validating: person.uuidString.lowercased())
        _ = try await services.consents.record(
            [fraud, marketing, sharing].map { DecisionRequest(purposeID: $0, decision: .granted) }, for: subject,
            origin: RequestOrigin())

        let objection = try await fileVerified(.objection, for: person, in: services)
        let objected = try await services.rights.fulfil(objection.id, by: staff, client: ClientInfo()) {
            Self.noCorrection()
        }
        #expect(objected.outcome == "withdrawn")
        #expect(objected.purposes == ["fraud_prevention"])
        var latest = try await latestDecisions(of: subject, in: services)
        #expect(latest[fraud]?.decision == .withdrawn && latest[fraud]?.method == .explicit)
        #expect(latest[marketing]?.decision == .granted)
        #expect(latest[sharing]?.decision == .granted)

        // A request already in progress completes without a second step into progress.
        let optOut = try await fileVerified(.optOut, for: person, in: services)
        _ = try await services.privacy.transition(optOut.id, to: .inProgress, by: staff, reason: nil)
        let optedOut = try await services.rights.fulfil(optOut.id, by: staff, client: ClientInfo()) {
            Self.noCorrection()
        }
        #expect(optedOut.purposes == ["third_party_sharing"])
        #expect(try await services.privacy.events(of: optOut.id).map(\.to) == [.verified, .inProgress, .completed])
        latest = try await latestDecisions(of: subject, in: services)
        #expect(latest[sharing]?.decision == .withdrawn)
        #expect(latest[marketing]?.decision == .granted)
        #expect(services.consentRepository.storedEvents.count == 5)
    }

    func latestDecisions(
        of subject: SubjectID, in services: InMemoryServices
    ) async throws
        -> [PurposeID: ConsentEvent]
    {
        Dictionary(
            try await services.consentRepository.latestEvents(subjectID: subject).map { ($0.purposeID, $0) },
            uniquingKeysWith: { _, newer in newer })
    }

    // MARK: Rectification

    @Test func aRectificationAppliesTheCorrectionAndAuditsWhichFieldsChanged() async throws {
        let services = try InMemoryServices()
        let account = try await services.register("old@example.com")
        _ = try await services.register("taken@example.com")
        let request = try await fileVerified(.rectification, for: account.id, in: services)

        await #expect(throws: ServiceError.correctionMissing) {
            _ = try await services.rights.fulfil(request.id, by: staff, client: ClientInfo()) {
                RightsFulfilment.Correction(email: nil, displayName: nil)
            }
        }
        // Another account's email, in any case, is mailed nothing and moves nothing.
        let taken = try await services.rights.fulfil(request.id, by: staff, client: ClientInfo()) {
            RightsFulfilment.Correction(email: "Taken@Example.COM", displayName: nil)
        }
        #expect(taken.outcome == "rectified")
        #expect(services.identityRepository.queuedMail.allSatisfy { $0.template != .emailChange })
        #expect(try await services.identity.account(id: account.id)?.email.normalized == "old@example.com")

        let second = try await fileVerified(.rectification, for: account.id, in: services)
        let console = ClientInfo(ipAddress: "198.51.100.4", userAgent: "Staff console")
        let done = try await services.rights.fulfil(second.id, by: staff, client: console) {
            RightsFulfilment.Correction(email: " New@Example.com ", displayName: "Ada")
        }

        #expect(done.outcome == "rectified")
        #expect(done.request.status == .completed)
        // The name changes at once; the email when the person follows the link mailed to the new address.
        let stored = try #require(try await services.identity.account(id: account.id))
        #expect(stored.email.normalized == "old@example.com")
        #expect(stored.displayName == "Ada")
        let link = try #require(services.identityRepository.queuedMail.last { $0.template == .emailChange })
        #expect(link.recipient == "new@example.com")
        let token = try #require(link.values["link"]?.split(separator: "token=").last.map(String.init))
        try await services.identity.confirmEmailChange(token: token, client: ClientInfo())
        #expect(try await services.identity.account(id: account.id)?.email.normalized == "new@example.com")
        #expect(try await services.identityRepository.account(email: EmailAddress("old@example.com")) == nil)
        let audit = try #require(
            try await services.identity.authEvents(userID: account.id).first { $0.kind == .profileRectified })
        #expect(audit.details == ["fields": "displayName", "by": staff.uuidString.lowercased()])
        #expect(audit.client == console)
        #expect(services.identityRepository.ledgerReferences.contains("auth:\(audit.id.uuidString.lowercased())"))
        let asked = try #require(
            try await services.identity.authEvents(userID: account.id).first { $0.kind == .emailChangeRequested })
        #expect(asked.details == ["by": staff.uuidString.lowercased()])
    }

    // MARK: Delivered exports

    @Test func accessIsDeliveredAsAnExportAndThenCompleted() async throws {
        let services = try InMemoryServices()
        let person = UUID()
        let access = try await fileVerified(.access, for: person, in: services)
        await #expect(throws: ServiceError.deliverExport(subject: person.uuidString.lowercased())) {
            _ = try await services.rights.fulfil(access.id, by: staff, client: ClientInfo()) { Self.noCorrection() }
        }
        #expect(try await services.privacy.request(access.id).status == .verified)

        let delivered = try await services.rights.completeDelivery(access.id, by: staff)

        #expect(delivered.status == .completed)
        let events = try await services.privacy.events(of: access.id)
        // Filed by staff on the person's behalf, an access request starts verified.
        #expect(events.map(\.to) == [.verified, .inProgress, .completed])
        #expect(events.last?.reason == "export delivered")

        // Only access, portability and know are completed by a delivery, and only once verified.
        let restriction = try await fileVerified(.restriction, for: person, in: services)
        await #expect(throws: PrivacyError.transitionRefused(from: .verified, to: .completed)) {
            _ = try await services.rights.completeDelivery(restriction.id, by: staff)
        }
        #expect(try await services.privacy.request(restriction.id).status == .verified)
        let know = try await services.privacy.file(.know, for: person, by: person)
        await #expect(throws: PrivacyError.transitionRefused(from: .received, to: .completed)) {
            _ = try await services.rights.completeDelivery(know.id, by: staff)
        }
        let portability = try await fileVerified(.portability, for: person, in: services)
        #expect(try await services.rights.completeDelivery(portability.id, by: staff).status == .completed)
    }
}
