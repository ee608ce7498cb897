import Foundation
import Logging
import Privacy
import QSPPTestSupport
import Testing

@testable import Services

/// `Retention` over `InMemoryRetentionRepository`: the cutoff of each class and the counts it returns.
@Suite("Retention in memory")
struct RetentionTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    func day(_ offset: Int) -> Date { Self.now.addingTimeInterval(Double(offset) * 86_400) }

    @Test func eachClassIsPurgedBeforeItsOwnCutoffAndTheCountsComeBack() async throws {
        let privacy = InMemoryPrivacyRepository()
        let repository = InMemoryRetentionRepository(privacy: privacy)
        // Sessions (30 days): one idle for 31 days, one revoked 31 days ago though used lately, one recent.
        repository.addSession(lastUsedAt: day(-31))
        repository.addSession(lastUsedAt: day(-1), revokedAt: day(-31))
        repository.addSession(lastUsedAt: day(-29))
        // Audit records (365 days): one older, two younger.
        repository.addAuthEvent(occurredAt: day(-366))
        repository.addAuthEvent(occurredAt: day(-364))
        repository.addAuthEvent(occurredAt: day(-31))
        // Requests (90 days): one answered 100 days ago, one still open from then, one answered lately.
        let subject = UUID()
        let longAgo = day(-100)
        let lately10 = day(-10)
        let old = PrivacyService(repository: privacy, now: { longAgo })
        let answered = try await old.file(.access, for: subject, by: subject)
        _ = try await old.transition(answered.id, to: .rejected, by: subject, reason: "not verifiable")
        let open = try await old.file(.erasure, for: subject, by: subject)
        let recent = PrivacyService(repository: privacy, now: { lately10 })
        let lately = try await recent.file(.know, for: subject, by: subject)
        _ = try await recent.transition(lately.id, to: .rejected, by: subject, reason: "duplicate")

        let retention = Retention(
            repository: repository, days: [.sessions: 30, .authEvents: 365, .closedRequests: 90],
            logger: Logger(label: "test"))
        let purged = try await retention.purgeOnce(now: Self.now)

        #expect(purged == [.sessions: 2, .authEvents: 1, .closedRequests: 1])
        let cutoffs = Dictionary(uniqueKeysWithValues: repository.purges.map { ($0.retention, $0.cutoff) })
        #expect(cutoffs[.sessions] == Self.now.addingTimeInterval(-30 * 86_400))
        #expect(cutoffs[.authEvents] == Self.now.addingTimeInterval(-365 * 86_400))
        #expect(cutoffs[.closedRequests] == Self.now.addingTimeInterval(-90 * 86_400))
        #expect(repository.purges.allSatisfy { $0.at == Self.now })
        #expect(repository.sessionCount == 1)
        #expect(repository.authEventCount == 2)
        #expect(try await privacy.request(id: answered.id) == nil)
        #expect(try await privacy.events(requestID: answered.id).isEmpty)
        #expect(try await privacy.request(id: open.id) != nil)
        #expect(try await privacy.request(id: lately.id) != nil)
        #expect(repository.ledgerReferences.count == 3)

        // Nothing is left to go: every class reports zero and no ledger entry is written.
        let again = try await retention.purgeOnce(now: Self.now)
        #expect(again == [.sessions: 0, .authEvents: 0, .closedRequests: 0])
        #expect(repository.ledgerReferences.count == 3)
    }

    @Test func onlyTheConfiguredClassesArePurged() async throws {
        let repository = InMemoryRetentionRepository()
        repository.addSession(lastUsedAt: day(-400))
        repository.addAuthEvent(occurredAt: day(-400))
        let retention = Retention(repository: repository, days: [.authEvents: 7], logger: Logger(label: "test"))
        #expect(try await retention.purgeOnce(now: Self.now) == [.authEvents: 1])
        #expect(repository.purges.map(\.retention) == [.authEvents])
        #expect(repository.purges.first?.cutoff == day(-7))
        #expect(repository.sessionCount == 1)
    }
}
