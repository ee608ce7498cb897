import Foundation
import Identity
import Privacy
import QSPPTestSupport
import Testing

@testable import Storage

@Suite("Retention")
struct RetentionTests {
    /// Old rows of each class go, recent ones stay, the ledger says what went, and outside the
    /// retention job audit rows are still append-only.
    @Test(arguments: Backend.all)
    func expiredDataIsPurgedAndThePurgeIsRecorded(backend: Backend) async throws {
        try await withIsolatedStore(backend) { store in
            let now = Date()
            let old = now.addingTimeInterval(-400 * 86_400)
            let user = UUID()
            for (id, lastUsed) in [(UUID(), old), (UUID(), now)] {
                try await store.identity.insertSession(
                    Session(
                        id: id, userID: user, createdAt: lastUsed, lastUsedAt: lastUsed,
                        client: ClientInfo(ipAddress: "192.0.2.1"), rememberMe: false, authenticationMethods: ["pwd"]),
                    firstToken: RefreshTokenRecord(
                        digest: UUID().uuidString, sessionID: id, userID: user, issuedAt: lastUsed,
                        expiresAt: lastUsed.addingTimeInterval(60)),
                    recording: [AuthEvent(kind: .loginSucceeded, at: lastUsed, userID: user)], clearingThrottle: nil)
            }
            let oldService = PrivacyService(repository: store.privacy, now: { old })
            let closed = try await oldService.file(.access, for: user, by: user)
            _ = try await oldService.transition(closed.id, to: .rejected, by: user, reason: "not verifiable")
            _ = try await PrivacyService(repository: store.privacy).file(.access, for: user, by: user)

            let cutoff = now.addingTimeInterval(-90 * 86_400)
            #expect(try await store.retention.purge(.sessions, olderThan: cutoff, at: now) == 1)
            #expect(try await store.retention.purge(.authEvents, olderThan: cutoff, at: now) == 1)
            #expect(try await store.retention.purge(.closedRequests, olderThan: cutoff, at: now) == 1)
            #expect(try await store.retention.purge(.sessions, olderThan: cutoff, at: now) == 0)

            #expect(try await store.identity.sessions(userID: user).count == 1)
            #expect(try await store.identity.authEvents(userID: user, limit: 10).count == 1)
            #expect(try await store.privacy.requests(subjectID: user).count == 1)
            let entries = try await store.ledger.ledgerEntries(after: 0, limit: 100)
            let purges = entries.filter { $0.reference.hasPrefix("retention:") }
            #expect(purges.count == 3)
            #expect(String(decoding: purges[0].content, as: UTF8.self).contains(#""rows":"1""#))
            #expect(try await LedgerVerifierCheck.intact(store))

            await #expect(throws: (any Error).self) {
                _ = try await store.sql.write("DELETE FROM auth_events", [])
            }
        }
    }
}

enum LedgerVerifierCheck {
    static func intact(_ store: any Store) async throws -> Bool {
        var verifier = LedgerVerifier(checkpoints: [:])
        for entry in try await store.ledger.ledgerEntries(after: 0, limit: 10_000) where !verifier.check(entry) {
            return false
        }
        verifier.finish(storedHead: try await store.ledger.ledgerHead())
        return verifier.problem == nil
    }
}
