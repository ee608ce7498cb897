import Foundation
import Privacy
import QSPPTestSupport
import Testing

/// `PrivacyService`'s rules on `InMemoryPrivacyRepository`, without a database.
@Suite("Data-subject request rules in memory")
struct PrivacyRulesTests {
    static let received = ISO8601DateFormatter().date(from: "2026-01-31T10:00:00Z")!

    func service(_ repository: InMemoryPrivacyRepository) -> PrivacyService {
        PrivacyService(repository: repository, now: { Self.received })
    }

    @Test func aSubjectHasOneOpenRequestPerKind() async throws {
        let repository = InMemoryPrivacyRepository()
        let privacy = service(repository)
        let subject = UUID()
        let first = try await privacy.file(.access, for: subject, by: subject)
        await #expect(throws: PrivacyError.duplicate) {
            _ = try await privacy.file(.access, for: subject, by: subject)
        }
        // Another kind, or another subject, is not a duplicate.
        _ = try await privacy.file(.erasure, for: subject, by: subject)
        _ = try await privacy.file(.access, for: UUID(), by: subject, identityVerification: "passport seen")
        #expect(try await privacy.requests(of: subject).count == 2)

        // Once the first is answered, the subject may file again.
        _ = try await privacy.transition(first.id, to: .rejected, by: subject, reason: "withdrawn by the subject")
        let again = try await privacy.file(.access, for: subject, by: subject)
        #expect(again.id != first.id)
        #expect(try await privacy.requests(of: subject).count == 3)
    }

    @Test func theLifecycleMovesForwardOnly() async throws {
        let repository = InMemoryPrivacyRepository()
        let privacy = service(repository)
        let subject = UUID()
        let dpo = UUID()
        let request = try await privacy.file(.rectification, for: subject, by: subject)
        #expect(request.status == .received)

        await #expect(throws: PrivacyError.transitionRefused(from: .received, to: .completed)) {
            _ = try await privacy.transition(request.id, to: .completed, by: dpo, reason: nil)
        }
        #expect(try await privacy.request(request.id).status == .received)
        #expect(try await privacy.events(of: request.id).count == 1)

        for next in [RequestStatus.verified, .inProgress, .completed] {
            #expect(try await privacy.transition(request.id, to: next, by: dpo, reason: nil).status == next)
        }
        await #expect(throws: PrivacyError.transitionRefused(from: .completed, to: .rejected)) {
            _ = try await privacy.transition(request.id, to: .rejected, by: dpo, reason: "too late")
        }
        let events = try await privacy.events(of: request.id)
        #expect(events.map(\.to) == [.received, .verified, .inProgress, .completed])
        #expect(events.map(\.from) == [nil, .received, .verified, .inProgress])
        #expect(repository.ledgerReferences.count == 4)

        await #expect(throws: PrivacyError.requestNotFound) {
            _ = try await privacy.transition(UUID(), to: .verified, by: dpo, reason: nil)
        }
    }

    @Test func aRejectionNeedsAReasonAndFilingForSomeoneElseAVerification() async throws {
        let privacy = service(InMemoryPrivacyRepository())
        let subject = UUID()
        let staff = UUID()
        await #expect(throws: PrivacyError.self) {
            _ = try await privacy.file(.access, for: subject, by: staff)
        }
        let onBehalf = try await privacy.file(.access, for: subject, by: staff, identityVerification: "video call")
        #expect(onBehalf.status == .verified)
        #expect(onBehalf.identityVerification == "video call")
        await #expect(throws: PrivacyError.self) {
            _ = try await privacy.transition(onBehalf.id, to: .rejected, by: staff, reason: "  ")
        }
        let rejected = try await privacy.transition(onBehalf.id, to: .rejected, by: staff, reason: "not verifiable")
        #expect(rejected.rejectionReason == "not verifiable")
    }

    @Test func deadlinesFollowTheLawAndExtendOnceWithAReason() async throws {
        let privacy = service(InMemoryPrivacyRepository())
        let subject = UUID()
        let iso = ISO8601DateFormatter()
        let gdpr = try await privacy.file(.access, for: subject, by: subject)
        #expect(gdpr.dueAt == iso.date(from: "2026-02-28T10:00:00Z"))
        let ccpa = try await privacy.file(.know, for: subject, by: subject)
        #expect(ccpa.dueAt == Self.received.addingTimeInterval(45 * 86_400))

        await #expect(throws: PrivacyError.self) {
            _ = try await privacy.extend(gdpr.id, by: subject, reason: " ")
        }
        let extended = try await privacy.extend(gdpr.id, by: subject, reason: "many systems to search")
        #expect(extended.dueAt == iso.date(from: "2026-04-28T10:00:00Z"))
        #expect(extended.extensionReason == "many systems to search")
        #expect(extended.status == gdpr.status)
        await #expect(throws: PrivacyError.alreadyExtended) {
            _ = try await privacy.extend(gdpr.id, by: subject, reason: "again")
        }
        #expect(try await privacy.request(gdpr.id).dueAt == extended.dueAt)

        let ccpaExtended = try await privacy.extend(ccpa.id, by: subject, reason: "complex")
        #expect(ccpaExtended.dueAt == Self.received.addingTimeInterval(90 * 86_400))

        _ = try await privacy.transition(ccpa.id, to: .rejected, by: subject, reason: "duplicate")
        await #expect(throws: PrivacyError.alreadyFinal) {
            _ = try await privacy.extend(ccpa.id, by: subject, reason: "late")
        }
    }

    @Test func overdueAndQueueOrder() async throws {
        let repository = InMemoryPrivacyRepository()
        let subject = UUID()
        let early = try await service(repository).file(.access, for: subject, by: subject)
        let later = try await PrivacyService(repository: repository, now: { Self.received.addingTimeInterval(86_400) })
            .file(.know, for: subject, by: subject)
        #expect(try await repository.overdueCount(at: Self.received) == 0)
        #expect(try await repository.overdueCount(at: early.dueAt.addingTimeInterval(1)) == 1)
        #expect(try await repository.queue(includeClosed: false, limit: 10).map(\.id) == [early.id, later.id])
        _ = try await service(repository).transition(early.id, to: .rejected, by: subject, reason: "no")
        #expect(try await repository.queue(includeClosed: false, limit: 10).map(\.id) == [later.id])
        #expect(try await repository.queue(includeClosed: true, limit: 10).map(\.id) == [later.id, early.id])
    }

    @Test func restrictingAgainKeepsTheFirstTime() async throws {
        let repository = InMemoryPrivacyRepository()
        let registry = RestrictionRegistry(repository: repository)
        let first = Date(timeIntervalSince1970: 1_000)
        try await registry.restrict("s-1", requestID: nil, at: first)
        try await registry.restrict("s-1", requestID: UUID(), at: Date(timeIntervalSince1970: 2_000))
        #expect(try await registry.restrictedSince("s-1") == first)
        #expect(repository.ledgerReferences == ["restriction:s-1"])
        #expect(try await registry.lift("s-1"))
        #expect(try await registry.lift("s-1") == false)
        #expect(try await registry.isRestricted("s-1") == false)
    }

    /// Erasure, rectification and restriction change or destroy a person's data: whoever files one, for
    /// themselves or for someone else, does not also verify it.
    @Test(arguments: RequestKind.allCases.filter(\.needsSecondPerson))
    func requestsThatChangeDataNeedASecondPersonToVerify(kind: RequestKind) async throws {
        let privacy = service(InMemoryPrivacyRepository())
        let subject = UUID()
        let staff = UUID()
        let onBehalf = try await privacy.file(kind, for: subject, by: staff, identityVerification: "video call")
        #expect(onBehalf.status == .received, "filed on someone's behalf, it still waits for a second person")
        await #expect(throws: PrivacyError.secondPersonRequired) {
            _ = try await privacy.transition(onBehalf.id, to: .verified, by: staff, reason: nil)
        }
        #expect(try await privacy.request(onBehalf.id).status == .received)
        #expect(try await privacy.transition(onBehalf.id, to: .verified, by: UUID(), reason: nil).status == .verified)

        let ownStaff = UUID()
        let own = try await privacy.file(kind, for: ownStaff, by: ownStaff)
        await #expect(throws: PrivacyError.secondPersonRequired) {
            _ = try await privacy.transition(own.id, to: .verified, by: ownStaff, reason: nil)
        }
    }

    @Test(arguments: RequestKind.allCases.filter { !$0.needsSecondPerson })
    func otherRequestsFiledOnBehalfStartVerified(kind: RequestKind) async throws {
        let privacy = service(InMemoryPrivacyRepository())
        let request = try await privacy.file(kind, for: UUID(), by: UUID(), identityVerification: "video call")
        #expect(request.status == .verified)
    }

    @Test func aReasonWithANULCharacterIsRefused() async throws {
        let privacy = service(InMemoryPrivacyRepository())
        let request = try await privacy.file(.access, for: UUID(), by: UUID(), identityVerification: "video call")
        await #expect(throws: PrivacyError.invalid("reason: must not contain U+0000")) {
            _ = try await privacy.transition(request.id, to: .rejected, by: UUID(), reason: "no\u{0}pe")
        }
        #expect(try await privacy.request(request.id).status == .verified)
    }
}
