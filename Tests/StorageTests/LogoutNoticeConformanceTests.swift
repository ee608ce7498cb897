import Foundation
import Identity
import Kernel
import QSPPTestSupport
import Testing

@testable import Storage

/// The back-channel logout queue, on both backends: ending a portal session queues one notice for
/// each application session started from it whose client listens, in the same transaction; replicas
/// lease disjoint notices; a lost lease changes nothing; dead notices stay for admins.
@Suite("Logout notice conformance")
struct LogoutNoticeConformanceTests {
    @Test(arguments: Backend.all)
    func endingASessionQueuesNoticesThatAreLeasedOnce(backend: Backend) async throws {
        try await withIsolatedStore(backend) { store in
            let repository = store.identity
            let base = IdentityRepositoryConformanceTests()
            let start = Date(microsecondsSince1970: 1_796_000_000_000_000)
            let listening = OAuthClientRepositoryConformanceTests.client("Shop", at: start, secret: "s")
            var silent = OAuthClientRepositoryConformanceTests.client("Quiet", at: start, secret: "s")
            silent.backChannelLogoutURI = nil
            for client in [listening, silent] {
                try await repository.insertOAuthClient(
                    client, recording: AuthEvent(kind: .oauthClientRegistered, at: start, details: [:]))
            }
            let account = try base.makeAccount()
            try await repository.insertAccount(account)
            let (portal, portalToken) = base.makeSession(for: account, at: start)
            try await repository.insertSession(portal, firstToken: portalToken, recording: [], clearingThrottle: nil)
            var children: [UUID: String] = [:]
            for client in [listening, listening, silent] {
                let (plain, token) = base.makeSession(for: account, at: start)
                let session = Session(
                    id: plain.id, userID: account.id, createdAt: start, lastUsedAt: start, client: plain.client,
                    rememberMe: false, authenticationMethods: ["pwd"],
                    application: .init(
                        clientID: client.id, scopes: [.openid], authenticatedAt: start, parentSessionID: portal.id))
                try await repository.insertSession(session, firstToken: token, recording: [], clearingThrottle: nil)
                children[session.id] = client.id
            }
            let now = start.addingTimeInterval(1)
            #expect(try await repository.leaseLogoutNotices(limit: 10, now: now, for: 60).isEmpty)

            #expect(try await repository.revokeSession(id: portal.id, at: now))
            let leased = try await repository.leaseLogoutNotices(limit: 10, now: now, for: 60)
            let expected = Set(children.filter { $0.value == listening.id }.keys)
            #expect(Set(leased.map(\.sessionID)) == expected, "one notice per listening client's session")
            #expect(leased.allSatisfy { $0.clientID == listening.id && $0.userID == account.id && $0.attempt == 1 })
            #expect(try await repository.leaseLogoutNotices(limit: 10, now: now, for: 60).isEmpty, "leased once")
            // Revoking again queues nothing twice.
            _ = try await repository.revokeSession(id: portal.id, at: now)

            let (delivered, failing) = (leased[0], leased[1])
            #expect(!(try await repository.finishLogoutNotice(sessionID: delivered.sessionID, lease: UUID())))
            #expect(try await repository.finishLogoutNotice(sessionID: delivered.sessionID, lease: delivered.lease))
            let retryAt = now.addingTimeInterval(30)
            #expect(
                try await repository.failLogoutNotice(
                    sessionID: failing.sessionID, lease: failing.lease, error: "no answer", retryAt: retryAt))
            #expect(
                try await repository.leaseLogoutNotices(limit: 10, now: now.addingTimeInterval(29), for: 60).isEmpty)
            let again = try await repository.leaseLogoutNotices(limit: 10, now: retryAt, for: 60)
            #expect(again.map(\.sessionID) == [failing.sessionID] && again.first?.attempt == 2)
            let retry = try #require(again.first)
            #expect(
                try await repository.failLogoutNotice(
                    sessionID: retry.sessionID, lease: retry.lease, error: "answered 400", retryAt: nil))
            #expect(
                try await repository.leaseLogoutNotices(limit: 10, now: retryAt.addingTimeInterval(1e6), for: 60)
                    .isEmpty)
            let kept = try await store.sql.select(
                "SELECT state, last_error FROM oauth_logout_notices WHERE session_id = $1", [.uuid(retry.sessionID)])
            #expect(kept.first?[0].text == "dead" && kept.first?[1].text == "answered 400")
        }
    }

    @Test(arguments: Backend.all)
    func deletingAnAccountTellsItsApplications(backend: Backend) async throws {
        try await withIsolatedStore(backend) { store in
            let repository = store.identity
            let base = IdentityRepositoryConformanceTests()
            let start = Date(microsecondsSince1970: 1_796_000_000_000_000)
            let client = OAuthClientRepositoryConformanceTests.client("Shop", at: start, secret: "s")
            try await repository.insertOAuthClient(
                client, recording: AuthEvent(kind: .oauthClientRegistered, at: start, details: [:]))
            let account = try base.makeAccount()
            try await repository.insertAccount(account)
            let (plain, token) = base.makeSession(for: account, at: start)
            let session = Session(
                id: plain.id, userID: account.id, createdAt: start, lastUsedAt: start, client: plain.client,
                rememberMe: false, authenticationMethods: ["pwd"],
                application: .init(clientID: client.id, scopes: [.openid], authenticatedAt: start))
            try await repository.insertSession(session, firstToken: token, recording: [], clearingThrottle: nil)
            try await repository.deleteAccount(id: account.id, at: start)
            let leased = try await repository.leaseLogoutNotices(limit: 10, now: start, for: 60)
            #expect(leased.map(\.sessionID) == [session.id])
        }
    }
}
