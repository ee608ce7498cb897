import Consent
import Foundation
import QSPPTestSupport
import Testing

/// `ConsentService`'s rules on `InMemoryConsentRepository`, without a database.
@Suite("Consent rules in memory")
struct ConsentRulesTests {
    let sharing = try! PurposeID(validating: "third_party_sharing")
    let marketing = try! PurposeID(validating: "marketing")
    let analytics = try! PurposeID(validating: "analytics")

    func service(
        _ repository: InMemoryConsentRepository, now: @escaping @Sendable () -> Date = { Date() }
    )
        -> ConsentService
    {
        ConsentService(repository: repository, purposeCacheAge: .zero, now: now)
    }

    @Test func gpcWithdrawsSaleOrSharingPurposesNotDecidedExplicitly() async throws {
        let repository = InMemoryConsentRepository()
        let consents = service(repository)
        let subject = try SubjectID(validating: "gpc-subject")
        _ = try await consents.record(
            [
                DecisionRequest(purposeID: sharing, decision: .granted),
                DecisionRequest(purposeID: marketing, decision: .granted),
            ], for: subject, origin: RequestOrigin())
        let gpc = RequestOrigin(sourceIP: "192.0.2.1", userAgent: "Browser", globalPrivacyControl: true)

        let first = try await consents.record(
            [DecisionRequest(purposeID: marketing, decision: .granted)], for: subject, origin: gpc)
        #expect(first.events.map(\.purposeID) == [sharing, marketing])
        #expect(first.events[0].method == .gpc && first.events[0].decision == .withdrawn)
        #expect(first.events[0].sourceIP == "192.0.2.1")
        #expect(first.events[1].decision == .granted)

        // Already withdrawn: GPC alone writes nothing more.
        let second = try await consents.record([], for: subject, origin: gpc)
        #expect(second.events.isEmpty)
        #expect(repository.storedEvents.count == 4)

        // An explicit decision in the same request wins over the signal.
        let explicit = try await consents.record(
            [DecisionRequest(purposeID: sharing, decision: .granted, method: .explicit)], for: subject, origin: gpc)
        #expect(explicit.events.map(\.method) == [.explicit])
        let state = try await consents.currentState(of: subject)
        #expect(state.first { $0.purposeID == sharing }?.isGranted == true)
    }

    @Test func aNewNoticeVersionMakesOlderGrantsNeedReconsent() async throws {
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        let repository = InMemoryConsentRepository(seededAt: start)
        let consents = service(repository, now: { start.addingTimeInterval(60) })
        let subject = try SubjectID(validating: "notice-subject")
        let granted = try await consents.record(
            [DecisionRequest(purposeID: marketing, decision: .granted)], for: subject, origin: RequestOrigin())
        #expect(granted.events.first?.noticeVersion == 1)
        #expect(try await consents.grantedPurposes(of: subject.rawValue) == ["marketing"])

        let purpose = try await consents.publishNotice(
            for: marketing, text: "We now also send text messages.", url: nil,
            effectiveAt: start.addingTimeInterval(30))
        #expect(purpose.notices.map(\.version) == [1, 2])
        let state = try #require(try await consents.currentState(of: subject).first { $0.purposeID == marketing })
        #expect(state.currentNoticeVersion == 2)
        #expect(state.isGranted && state.needsReconsent)
        #expect(try await consents.grantedPurposes(of: subject.rawValue).isEmpty)

        // A version scheduled for later does not count yet.
        _ = try await consents.publishNotice(
            for: analytics, text: "Later.", url: nil, effectiveAt: start.addingTimeInterval(3600))
        let analyticsGrant = try await consents.record(
            [DecisionRequest(purposeID: analytics, decision: .granted)], for: subject, origin: RequestOrigin())
        #expect(analyticsGrant.events.first?.noticeVersion == 1)

        await #expect(throws: ConsentError.unknownNoticeVersion(marketing, version: 9)) {
            _ = try await consents.record(
                [DecisionRequest(purposeID: marketing, decision: .granted, noticeVersion: 9)], for: subject,
                origin: RequestOrigin())
        }
    }

    @Test func anIdempotencyReplayReturnsTheFirstEventsAndWritesNothing() async throws {
        let repository = InMemoryConsentRepository()
        let consents = service(repository)
        let subject = try SubjectID(validating: "idem-subject")
        let claim = IdempotencyClaim(scope: "caller", key: "key-1", fingerprint: "digest-a")
        let first = try await consents.record(
            [DecisionRequest(purposeID: marketing, decision: .granted)], for: subject, origin: RequestOrigin(),
            claim: claim)
        guard case .recorded(let recorded) = first else {
            Issue.record("expected a first write")
            return
        }
        #expect(recorded.allSatisfy { $0.ledgerSequence != nil })

        let retry = try await consents.record(
            [DecisionRequest(purposeID: marketing, decision: .granted)], for: subject, origin: RequestOrigin(),
            claim: claim)
        #expect(retry == .replayed(recorded))
        #expect(repository.storedEvents == recorded)

        await #expect(throws: ConsentError.idempotencyKeyReused) {
            _ = try await consents.record(
                [DecisionRequest(purposeID: marketing, decision: .withdrawn)], for: subject, origin: RequestOrigin(),
                claim: IdempotencyClaim(scope: "caller", key: "key-1", fingerprint: "digest-b"))
        }
        #expect(repository.storedEvents == recorded)

        // Another caller's key of the same name is its own.
        let other = try await consents.record(
            [DecisionRequest(purposeID: marketing, decision: .withdrawn)], for: subject, origin: RequestOrigin(),
            claim: IdempotencyClaim(scope: "someone-else", key: "key-1", fingerprint: "digest-b"))
        #expect(other.events.count == 1)
        #expect(repository.storedEvents.count == 2)
    }

    @Test func batchesAreLimitedAndUnknownPurposesRefusedAtomically() async throws {
        let repository = InMemoryConsentRepository()
        let consents = service(repository)
        let subject = try SubjectID(validating: "batch-subject")
        let tooMany = Array(
            repeating: DecisionRequest(purposeID: marketing, decision: .granted),
            count: ConsentService.maximumBatchSize + 1)
        await #expect(throws: ConsentError.batchTooLarge(limit: ConsentService.maximumBatchSize)) {
            _ = try await consents.record(tooMany, for: subject, origin: RequestOrigin())
        }
        await #expect(throws: ConsentError.emptyBatch) {
            _ = try await consents.record([], for: subject, origin: RequestOrigin())
        }
        let unknown = try PurposeID(validating: "no_such_purpose")
        await #expect(throws: ConsentError.unknownPurpose(unknown)) {
            _ = try await consents.record(
                [
                    DecisionRequest(purposeID: marketing, decision: .granted),
                    DecisionRequest(purposeID: unknown, decision: .granted),
                ], for: subject, origin: RequestOrigin())
        }
        #expect(repository.storedEvents.isEmpty)

        let full = Array(
            repeating: DecisionRequest(purposeID: marketing, decision: .granted),
            count: ConsentService.maximumBatchSize)
        #expect(try await consents.record(full, for: subject, origin: RequestOrigin()).events.count == 100)
    }

    @Test func historyPagesNewestFirstWithCursors() async throws {
        let repository = InMemoryConsentRepository()
        let consents = service(repository)
        let subject = try SubjectID(validating: "history-subject")
        let other = try SubjectID(validating: "history-other")
        var written: [ConsentEvent] = []
        for decision in [Decision.granted, .withdrawn, .granted, .withdrawn, .granted] {
            written += try await consents.record(
                [DecisionRequest(purposeID: analytics, decision: decision)], for: subject, origin: RequestOrigin()
            ).events
            _ = try await consents.record(
                [DecisionRequest(purposeID: analytics, decision: decision)], for: other, origin: RequestOrigin())
        }
        let first = try await consents.history(of: subject, after: nil, limit: 2)
        #expect(first.events.map(\.id) == written.reversed().prefix(2).map(\.id))
        let second = try await consents.history(of: subject, after: try #require(first.next), limit: 2)
        #expect(second.events.map(\.id) == written.reversed().dropFirst(2).prefix(2).map(\.id))
        let last = try await consents.history(of: subject, after: try #require(second.next), limit: 2)
        #expect(last.events.map(\.id) == [written[0].id])
        #expect(last.next == nil)
        await #expect(throws: ConsentError.self) { _ = try await consents.history(of: subject, after: nil, limit: 0) }
        #expect(try await repository.latestEvents(subjectID: subject).map(\.id) == [written[4].id])
    }

    /// PostgreSQL cannot store U+0000 in text; the rule refuses it on every backend, before any write.
    @Test func textWithANULCharacterIsRefusedAndNothingIsWritten() async throws {
        let repository = InMemoryConsentRepository()
        let consents = service(repository)
        await #expect(throws: ConsentError.invalidField("notice.text", "must not contain U+0000")) {
            _ = try await consents.publishNotice(for: marketing, text: "before\u{0}after", url: nil, effectiveAt: nil)
        }
        #expect(try await consents.purpose(marketing).notices.map(\.version) == [1])
        await #expect(throws: ConsentError.invalidField("title", "must not contain U+0000")) {
            _ = try await consents.updatePurpose(
                marketing, title: "Mark\u{0}eting", description: nil, isSaleOrSharing: nil)
        }
    }
}
