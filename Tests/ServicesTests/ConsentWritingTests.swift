import Consent
import Foundation
import Privacy
import Prometheus
import QSPPTestSupport
import Testing

@testable import Services

/// `ConsentWriting` over the in-memory repositories: the Art. 18 rule, and the count in `/metrics`.
@Suite("ConsentWriting")
struct ConsentWritingTests {
    struct Fixture {
        let consents = InMemoryConsentRepository()
        let privacy = InMemoryPrivacyRepository()
        let metrics = QSPPMetrics()
        let restrictions: RestrictionRegistry
        let writing: ConsentWriting

        init() {
            restrictions = RestrictionRegistry(repository: privacy)
            writing = ConsentWriting(
                consents: ConsentService(repository: consents, purposeCacheAge: .zero),
                restrictions: restrictions, metrics: metrics)
        }

        /// `qspp_consent_events_written_total` as the registry emits it.
        func eventsWritten() -> Double? {
            var buffer: [UInt8] = []
            metrics.registry.emit(into: &buffer)
            let prefix = "qspp_consent_events_written_total "
            return String(decoding: buffer, as: UTF8.self).split(separator: "\n")
                .first { $0.hasPrefix(prefix) }
                .flatMap { Double($0.dropFirst(prefix.count).trimmingCharacters(in: .whitespaces)) }
        }
    }

    let marketing = try! PurposeID(validating: "marketing")
    let analytics = try! PurposeID(validating: "analytics")

    @Test func whileRestrictedOnlyThePersonsOwnWithdrawalsAreAccepted() async throws {
        let fixture = Fixture()
        let subject = try SubjectID(validating: "person-1")
        _ = try await fixture.writing.record(
            [DecisionRequest(purposeID: marketing, decision: .granted)], for: subject, actor: subject.rawValue,
            origin: RequestOrigin(), claim: nil)
        try await fixture.restrictions.restrict(subject.rawValue, requestID: nil)
        let before = fixture.consents.storedEvents.count

        await #expect(throws: ServiceError.processingRestricted) {
            _ = try await fixture.writing.record(
                [DecisionRequest(purposeID: analytics, decision: .granted)], for: subject, actor: subject.rawValue,
                origin: RequestOrigin(), claim: nil)
        }
        await #expect(throws: ServiceError.processingRestricted) {
            _ = try await fixture.writing.record(
                [DecisionRequest(purposeID: marketing, decision: .withdrawn)], for: subject, actor: "staff-7",
                origin: RequestOrigin(), claim: nil)
        }
        // A mixed batch from the person is refused as a whole.
        await #expect(throws: ServiceError.processingRestricted) {
            _ = try await fixture.writing.record(
                [
                    DecisionRequest(purposeID: marketing, decision: .withdrawn),
                    DecisionRequest(purposeID: analytics, decision: .granted),
                ], for: subject, actor: subject.rawValue, origin: RequestOrigin(), claim: nil)
        }
        #expect(fixture.consents.storedEvents.count == before)

        let own = try await fixture.writing.record(
            [DecisionRequest(purposeID: marketing, decision: .withdrawn)], for: subject, actor: subject.rawValue,
            origin: RequestOrigin(), claim: nil)
        #expect(own.events.map(\.decision) == [.withdrawn])
        #expect(fixture.consents.storedEvents.count == before + 1)
        #expect(try await fixture.consents.latestEvents(subjectID: subject).first?.decision == .withdrawn)
    }

    @Test func unrestrictedWritesPassAndLiftingARestrictionReopensThem() async throws {
        let fixture = Fixture()
        let subject = try SubjectID(validating: "person-2")
        let other = try SubjectID(validating: "person-3")
        try await fixture.restrictions.restrict(other.rawValue, requestID: nil)

        let staffGrant = try await fixture.writing.record(
            [DecisionRequest(purposeID: analytics, decision: .granted)], for: subject, actor: "staff-7",
            origin: RequestOrigin(), claim: nil)
        #expect(staffGrant.events.count == 1)

        #expect(try await fixture.restrictions.lift(other.rawValue))
        let afterLift = try await fixture.writing.record(
            [DecisionRequest(purposeID: analytics, decision: .granted)], for: other, actor: "staff-7",
            origin: RequestOrigin(), claim: nil)
        #expect(afterLift.events.map(\.subjectID) == [other])
    }

    @Test func writtenEventsAreCountedOnceAndReplaysAreNot() async throws {
        let fixture = Fixture()
        let subject = try SubjectID(validating: "person-4")
        let claim = IdempotencyClaim(scope: subject.rawValue, key: "k-1", fingerprint: "f-1")
        let decisions = [
            DecisionRequest(purposeID: marketing, decision: .granted),
            DecisionRequest(purposeID: analytics, decision: .granted),
        ]
        let first = try await fixture.writing.record(
            decisions, for: subject, actor: subject.rawValue, origin: RequestOrigin(), claim: claim)
        #expect(first.events.count == 2)
        #expect(fixture.eventsWritten() == 2)

        let replay = try await fixture.writing.record(
            decisions, for: subject, actor: subject.rawValue, origin: RequestOrigin(), claim: claim)
        guard case .replayed(let events) = replay else {
            Issue.record("expected a replay, got \(replay)")
            return
        }
        #expect(events == first.events)
        #expect(fixture.eventsWritten() == 2)

        // GPC adds its withdrawal to the same append, and it is counted too.
        _ = try await fixture.writing.record(
            [DecisionRequest(purposeID: marketing, decision: .withdrawn)], for: subject, actor: subject.rawValue,
            origin: RequestOrigin(globalPrivacyControl: true), claim: nil)
        #expect(fixture.eventsWritten() == 4)
    }
}
