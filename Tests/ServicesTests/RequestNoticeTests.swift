import Foundation
import Outbox
import Privacy
import QSPPTestSupport
import Testing

/// A person hears by mail when their request is received, extended, completed or refused (GDPR Art.
/// 12(3) and (4)), each message queued with the change, in their language; refused changes and
/// subjects without an account mail nothing.
@Suite("Data-subject request notices")
struct RequestNoticeTests {
    static let received = ISO8601DateFormatter().date(from: "2026-01-31T10:00:00Z")!

    func service(_ repository: InMemoryPrivacyRepository, accounts: [UUID: String]) -> PrivacyService {
        PrivacyService(
            repository: repository,
            notices: RequestNotices(requestsPage: "https://qspp.test/my/data") { subject in
                accounts[subject].map { ($0, "de") }
            }, now: { Self.received })
    }

    @Test func eachStepOfARequestIsMailedToItsSubject() async throws {
        let repository = InMemoryPrivacyRepository()
        let subject = UUID()
        let dpo = UUID()
        let privacy = service(repository, accounts: [subject: "ana@example.com"])
        let erasure = try await privacy.file(.erasure, for: subject, by: subject)
        let received = try #require(repository.queuedMail.last)
        #expect(received.template == .requestReceived && received.recipient == "ana@example.com")
        #expect(received.locale == "de" && received.subject == subject.uuidString.lowercased())
        #expect(received.values["kind_erasure"] == "yes" && received.values["received"] == "2026-01-31")
        #expect(received.values["due"] == "2026-02-28" && received.values["link"] == "https://qspp.test/my/data")

        _ = try await privacy.extend(erasure.id, by: dpo, reason: "many systems to search")
        let extended = try #require(repository.queuedMail.last)
        #expect(extended.template == .requestExtended && extended.values["reason"] == "many systems to search")
        #expect(extended.values["due"] == "2026-04-28")

        // A refused step mails nothing.
        await #expect(throws: PrivacyError.self) {
            _ = try await privacy.transition(erasure.id, to: .completed, by: dpo, reason: nil)
        }
        #expect(repository.queuedMail.count == 2)
        _ = try await privacy.transition(erasure.id, to: .rejected, by: dpo, reason: "we hold nothing about you")
        let rejected = try #require(repository.queuedMail.last)
        #expect(rejected.template == .requestRejected && rejected.values["reason"] == "we hold nothing about you")

        let access = try await privacy.file(.access, for: subject, by: subject)
        _ = try await privacy.transition(access.id, to: .verified, by: dpo, reason: nil)
        _ = try await privacy.transition(access.id, to: .inProgress, by: dpo, reason: nil)
        #expect(repository.queuedMail.count == 4, "verification and progress are not mailed")
        _ = try await privacy.transition(access.id, to: .completed, by: dpo, reason: nil)
        #expect(repository.queuedMail.map(\.template).last == .requestCompleted)
    }

    @Test func aSubjectWithoutAnAccountGetsNoMail() async throws {
        let repository = InMemoryPrivacyRepository()
        let privacy = service(repository, accounts: [:])
        let subject = UUID()
        _ = try await privacy.file(.access, for: subject, by: UUID(), identityVerification: "passport seen")
        #expect(repository.queuedMail.isEmpty)
    }
}
