import Foundation
import Identity
import Kernel
import PQCrypto
import QSPPTestSupport
import Testing

@testable import Storage

/// The registered OAuth clients, on both backends: stored whole (URIs with any character, every grant
/// and scope), secrets only as digests, deletion final, and every change audited with its ledger entry.
@Suite("OAuth client repository conformance")
struct OAuthClientRepositoryConformanceTests {
    static func client(_ name: String, at date: Date, secret: String?) -> OAuthClient {
        OAuthClient(
            id: Base64URL.encode(Data(UUID().uuidString.utf8).prefix(16)), name: name, kind: .confidential,
            authentication: .clientSecretPost, secretDigest: secret.map(OpaqueSecret.digest),
            redirectURIs: ["https://shop.example/cb?next=a,b&x=\"y\"", "http://127.0.0.1:9/cb"],
            grantTypes: Set(OAuthClient.GrantType.allCases), scopes: Set(OAuthClient.Scope.allCases),
            backChannelLogoutURI: "https://shop.example/logout", requiresPushedRequests: true,
            idTokenAlgorithm: .ed25519,
            keys: [
                ["kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", "kid": "k \"1\""]
            ],
            createdAt: date, createdBy: UUID())
    }

    @Test(arguments: Backend.all)
    func clientsAreStoredWholeAuditedAndDeletedForGood(backend: Backend) async throws {
        try await withIsolatedStore(backend) { store in
            let repository = store.identity
            let start = Date(microsecondsSince1970: 1_796_000_000_123_456)
            let first = Self.client("Shop", at: start, secret: "first secret")
            var second = Self.client(
                "Warehouse", at: Date(microsecondsSince1970: 1_796_000_001_123_456), secret: nil)
            second.backChannelLogoutURI = nil
            second.redirectURIs = []
            for client in [second, first] {
                try await repository.insertOAuthClient(
                    client,
                    recording: AuthEvent(kind: .oauthClientRegistered, at: start, details: ["client_id": client.id]))
            }
            #expect(try await repository.oauthClients() == [first, second])
            #expect(try await repository.oauthClient(id: first.id) == first)
            #expect(try await repository.oauthClient(id: "unknown") == nil)
            let stored = try await store.sql.select(
                "SELECT secret_digest FROM oauth_clients WHERE id = $1", [.text(first.id)])
            #expect(stored.first?[0].text == OpaqueSecret.digest("first secret"))

            let rotation = AuthEvent(kind: .oauthClientSecretRotated, at: start, details: ["client_id": first.id])
            #expect(try await repository.replaceOAuthClientSecret(id: first.id, digest: "d2", recording: rotation))
            #expect(try await repository.oauthClient(id: first.id)?.secretDigest == "d2")
            let deletion = AuthEvent(kind: .oauthClientDeleted, at: start, details: ["client_id": first.id])
            #expect(try await repository.deleteOAuthClient(id: first.id, at: start, recording: deletion))
            #expect(try await repository.oauthClient(id: first.id) == nil)
            #expect(try await repository.oauthClients() == [second])
            // A deleted or unknown client changes nothing and records nothing.
            let late = AuthEvent(kind: .oauthClientDeleted, at: start, details: ["client_id": first.id])
            #expect(!(try await repository.deleteOAuthClient(id: first.id, at: start, recording: late)))
            #expect(!(try await repository.replaceOAuthClientSecret(id: first.id, digest: "d3", recording: late)))
            let kept = try await store.sql.select(
                "SELECT secret_digest, deleted_at FROM oauth_clients WHERE id = $1", [.text(first.id)])
            #expect(kept.first?[0] == .null && kept.first?[1] != .null)

            let audit = try await repository.authEvents(userID: nil, limit: 50).filter {
                $0.details["client_id"] != nil
            }
            #expect(audit.count == 4 && !audit.contains { $0.id == late.id })
            for event in audit {
                #expect(try await store.ledger.ledgerSequence(reference: "auth:\(event.id.lowercasedString)") != nil)
            }
        }
    }
}
