import Consent
import Foundation
import QSPPTestSupport
import Storage
import Testing

/// The consent rules, run on real storage so that what they rely on (ordering, atomicity) is real too.
@Suite("ConsentService")
struct ConsentServiceTests {
    func withService(
        _ backend: Backend, _ body: @Sendable (ConsentService, any Store) async throws -> Void
    ) async throws {
        try await withStore(backend) { store in
            try await body(ConsentService(repository: store.consents, purposeCacheAge: .zero), store)
        }
    }

    @Test(arguments: Backend.all)
    func gpcWithdrawsEverySaleOrSharingPurposeOnce(backend: Backend) async throws {
        try await withService(backend) { service, _ in
            let subject = try uniqueSubject()
            let sharing = try PurposeID(validating: "third_party_sharing")
            let marketing = try PurposeID(validating: "marketing")
            _ = try await service.record(
                [
                    DecisionRequest(purposeID: sharing, decision: .granted),
                    DecisionRequest(purposeID: marketing, decision: .granted),
                ],
                for: subject, origin: RequestOrigin())
            let withGPC = RequestOrigin(sourceIP: "192.0.2.1", userAgent: "Browser", globalPrivacyControl: true)
            let first = try await service.record(
                [DecisionRequest(purposeID: marketing, decision: .granted)], for: subject, origin: withGPC)
            let gpcEvents = first.events.filter { $0.method == .gpc }
            #expect(gpcEvents.map(\.purposeID).contains(sharing))
            #expect(gpcEvents.allSatisfy { $0.decision == .withdrawn && $0.sourceIP == "192.0.2.1" })
            #expect(!gpcEvents.map(\.purposeID).contains(marketing))
            // Already withdrawn: a second GPC request writes nothing more for it.
            let second = try await service.record([], for: subject, origin: withGPC)
            #expect(!second.events.contains { $0.purposeID == sharing })
            let state = try await service.currentState(of: subject)
            #expect(state.first { $0.purposeID == sharing }?.latest?.decision == .withdrawn)
            #expect(state.first { $0.purposeID == marketing }?.isGranted == true)
        }
    }

    @Test(arguments: Backend.all)
    func anExplicitDecisionInTheSameRequestTakesPrecedenceOverGPC(backend: Backend) async throws {
        try await withService(backend) { service, _ in
            let subject = try uniqueSubject()
            let sharing = try PurposeID(validating: "third_party_sharing")
            let outcome = try await service.record(
                [DecisionRequest(purposeID: sharing, decision: .granted, method: .explicit)], for: subject,
                origin: RequestOrigin(globalPrivacyControl: true))
            #expect(!outcome.events.contains { $0.purposeID == sharing && $0.method == .gpc })
            #expect(try await service.currentState(of: subject).first { $0.purposeID == sharing }?.isGranted == true)
        }
    }

    @Test(arguments: Backend.all)
    func aNewNoticeVersionAsksForReconsentOfOlderGrants(backend: Backend) async throws {
        try await withService(backend) { service, _ in
            let subject = try uniqueSubject()
            let id = try uniquePurposeID()
            _ = try await service.createPurpose(
                PurposeDraft(
                    id: id, title: "Research", description: "", isSaleOrSharing: false, noticeText: "v1",
                    noticeURL: nil, effectiveAt: Date().addingTimeInterval(-60)))
            let granted = try await service.record(
                [DecisionRequest(purposeID: id, decision: .granted)], for: subject, origin: RequestOrigin())
            #expect(granted.events.first?.noticeVersion == 1)
            let updated = try await service.publishNotice(
                for: id, text: nil, url: "https://example.com/v2", effectiveAt: nil)
            #expect(updated.notices.map(\.version) == [1, 2])
            let state = try #require(try await service.currentState(of: subject).first { $0.purposeID == id })
            #expect(state.needsReconsent)
            #expect(state.currentNoticeVersion == 2)
            _ = try await service.record(
                [DecisionRequest(purposeID: id, decision: .granted)], for: subject, origin: RequestOrigin())
            let after = try #require(try await service.currentState(of: subject).first { $0.purposeID == id })
            #expect(!after.needsReconsent)
            #expect(after.latest?.noticeVersion == 2)
        }
    }

    @Test(arguments: Backend.all)
    func refusedInputWritesNothing(backend: Backend) async throws {
        try await withService(backend) { service, _ in
            let subject = try uniqueSubject()
            let marketing = try PurposeID(validating: "marketing")
            let unknown = try uniquePurposeID("unknown")
            await #expect(throws: ConsentError.unknownPurpose(unknown)) {
                try await service.record(
                    [
                        DecisionRequest(purposeID: marketing, decision: .granted),
                        DecisionRequest(purposeID: unknown, decision: .granted),
                    ],
                    for: subject, origin: RequestOrigin())
            }
            await #expect(throws: ConsentError.unknownNoticeVersion(marketing, version: 42)) {
                try await service.record(
                    [DecisionRequest(purposeID: marketing, decision: .granted, noticeVersion: 42)], for: subject,
                    origin: RequestOrigin())
            }
            await #expect(throws: ConsentError.emptyBatch) {
                try await service.record([], for: subject, origin: RequestOrigin())
            }
            await #expect(throws: ConsentError.batchTooLarge(limit: ConsentService.maximumBatchSize)) {
                try await service.record(
                    Array(repeating: DecisionRequest(purposeID: marketing, decision: .granted), count: 101),
                    for: subject,
                    origin: RequestOrigin())
            }
            #expect(try await service.history(of: subject, after: nil, limit: 10).events.isEmpty)
        }
    }

    @Test(arguments: Backend.all)
    func purposesNeedANoticeAndAFreshId(backend: Backend) async throws {
        try await withService(backend) { service, _ in
            let id = try uniquePurposeID()
            await #expect(throws: ConsentError.noticeNeedsTextOrURL) {
                try await service.createPurpose(
                    PurposeDraft(
                        id: id, title: "T", description: "", isSaleOrSharing: false, noticeText: "", noticeURL: nil,
                        effectiveAt: nil))
            }
            await #expect(
                throws: ConsentError.invalidField(
                    "notice.url", "must be an absolute http(s) URL of at most 2048 characters")
            ) {
                try await service.createPurpose(
                    PurposeDraft(
                        id: id, title: "T", description: "", isSaleOrSharing: false, noticeText: nil,
                        noticeURL: "javascript:alert(1)", effectiveAt: nil))
            }
            _ = try await service.createPurpose(
                PurposeDraft(
                    id: id, title: "T", description: "", isSaleOrSharing: true, noticeText: "n", noticeURL: nil,
                    effectiveAt: nil))
            await #expect(throws: ConsentError.purposeExists(id)) {
                try await service.createPurpose(
                    PurposeDraft(
                        id: id, title: "T", description: "", isSaleOrSharing: false, noticeText: "n", noticeURL: nil,
                        effectiveAt: nil))
            }
            #expect(try await service.purpose(id).isSaleOrSharing)
        }
    }
}
