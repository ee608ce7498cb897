import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Identity
import PQCrypto
import QSPPTestSupport
import Testing

@testable import App

/// `/v1/admin/oauth-clients` through the real router, on both backends.
@Suite("OAuth client API")
struct OAuthClientAPITests {
    static let webApp = #"""
        {"name":"Shop","kind":"confidential","tokenEndpointAuthMethod":"client_secret_post",
         "redirectUris":["https://shop.example/callback"],"grantTypes":["authorization_code","refresh_token"],
         "scopes":["openid","email","consent:read"],"backchannelLogoutUri":"https://shop.example/logout",
         "requirePushedAuthorizationRequests":true,"idTokenSignedResponseAlg":"EdDSA"}
        """#

    @Test(arguments: Backend.all)
    func anAdministratorRegistersListsRotatesAndDeletesAClient(backend: Backend) async throws {
        try await withApp(backend, isolated: true) { api in
            let created = try await api.send(.post, "/v1/admin/oauth-clients", json: Self.webApp, token: api.adminToken)
            #expect(created.status == .created)
            #expect(created.headers[.cacheControl] == "no-store")
            let body = try created.object()
            let client = try #require(body["client"] as? [String: Any])
            let id = try #require(client["clientId"] as? String)
            let secret = try #require(body["clientSecret"] as? String)
            #expect(created.headers[.location] == "/v1/admin/oauth-clients/\(id)")
            #expect(client["tokenEndpointAuthMethod"] as? String == "client_secret_post")
            #expect(client["scopes"] as? [String] == ["consent:read", "email", "openid"])
            #expect(client["grantTypes"] as? [String] == ["authorization_code", "refresh_token"])
            #expect(client["idTokenSignedResponseAlg"] as? String == "EdDSA")
            #expect(client["requirePushedAuthorizationRequests"] as? Bool == true)

            // The secret is never shown again, nor its digest.
            let listed = try await api.send(.get, "/v1/admin/oauth-clients", token: api.adminToken)
            #expect(listed.status == .ok)
            let listing = String(buffer: listed.body)
            #expect(listing.contains(id) && !listing.contains(secret) && !listing.contains(OpaqueSecret.digest(secret)))
            let shown = try await api.send(.get, "/v1/admin/oauth-clients/\(id)", token: api.adminToken).object()
            #expect(shown["name"] as? String == "Shop" && shown["clientSecret"] == nil)

            let rotated = try await api.send(.post, "/v1/admin/oauth-clients/\(id)/secret", token: api.adminToken)
            #expect(rotated.status == .ok && rotated.headers[.cacheControl] == "no-store")
            let newSecret = try #require(try rotated.object()["clientSecret"] as? String)
            #expect(newSecret != secret)

            #expect(
                try await api.send(.delete, "/v1/admin/oauth-clients/\(id)", token: api.adminToken).status == .noContent
            )
            try await api.send(.get, "/v1/admin/oauth-clients/\(id)", token: api.adminToken).expectProblem(.notFound)
            try await api.send(.delete, "/v1/admin/oauth-clients/\(id)", token: api.adminToken).expectProblem(.notFound)
            try await api.send(.post, "/v1/admin/oauth-clients/\(id)/secret", token: api.adminToken)
                .expectProblem(.notFound)
            let audit = try await api.services.identity.authEvents(userID: nil, limit: 50)
            #expect(
                Set(audit.filter { $0.details["client_id"] == id }.map(\.kind))
                    == [.oauthClientRegistered, .oauthClientSecretRotated, .oauthClientDeleted])
            let report = try await api.services.ledger.verify()
            #expect(report.isIntact, "\(String(describing: report.problem))")
        }
    }

    @Test(arguments: Backend.all)
    func onlyAdministratorsReachClients(backend: Backend) async throws {
        try await withApp(backend, isolated: true) { api in
            let user = try await api.newUser()
            try await api.send(.get, "/v1/admin/oauth-clients", token: user.accessToken).expectProblem(.forbidden)
            try await api.send(.post, "/v1/admin/oauth-clients", json: Self.webApp, token: user.accessToken)
                .expectProblem(.forbidden)
            try await api.send(.get, "/v1/admin/oauth-clients", token: nil).expectProblem(.unauthorized)
            try await api.send(.post, "/v1/admin/oauth-clients", json: Self.webApp, token: nil)
                .expectProblem(.unauthorized)
            for path in ["/v1/admin/oauth-clients/AAAAAAAAAAAAAAAAAAAAAA", "/v1/admin/oauth-clients/has.a.dot"] {
                try await api.send(.get, path, token: api.adminToken).expectProblem(.notFound)
                try await api.send(.delete, path, token: user.accessToken).expectProblem(.forbidden)
            }
            #expect(try await Self.clients(api).isEmpty)
        }
    }

    /// Each gets a 400 problem that names the field, and nothing is stored.
    @Test(arguments: Backend.all)
    func badRegistrationsAreRefusedAndNothingIsStored(backend: Backend) async throws {
        try await withApp(backend, isolated: true) { api in
            let refusals: [(String, String)] = [
                (#"{"name":"x","kind":"confidential","grantTypes":["password"],"scopes":["admin"]}"#, "grantTypes"),
                (#"{"name":"x","kind":"confidential","grantTypes":["implicit"],"scopes":["admin"]}"#, "grantTypes"),
                (
                    #"{"name":"x","kind":"confidential","grantTypes":["client_credentials"],"scopes":["root"]}"#,
                    "scopes"
                ),
                (
                    #"{"name":"x","kind":"confidential","grantTypes":["client_credentials","client_credentials"],"scopes":["admin"]}"#,
                    "grantTypes"
                ),
                (#"{"name":"x","kind":"trusted","grantTypes":["client_credentials"],"scopes":["admin"]}"#, "kind"),
                (#"{"name":"x","kind":"public","grantTypes":["client_credentials"],"scopes":["admin"]}"#, "grantTypes"),
                (
                    #"{"name":"x","kind":"public","tokenEndpointAuthMethod":"client_secret_basic","redirectUris":["https://a.example/cb"],"grantTypes":["authorization_code"],"scopes":["openid"]}"#,
                    "tokenEndpointAuthMethod"
                ),
                (
                    #"{"name":"x","kind":"confidential","tokenEndpointAuthMethod":"tls_client_auth","grantTypes":["client_credentials"],"scopes":["admin"]}"#,
                    "tokenEndpointAuthMethod"
                ),
                (
                    #"{"name":"x","kind":"confidential","tokenEndpointAuthMethod":"private_key_jwt","grantTypes":["client_credentials"],"scopes":["admin"]}"#,
                    "jwks"
                ),
                (
                    #"{"name":"x","kind":"confidential","redirectUris":["https://a.example/cb#x"],"grantTypes":["authorization_code"],"scopes":["openid"]}"#,
                    "redirectUris"
                ),
                (
                    #"{"name":"x","kind":"confidential","redirectUris":["http://a.example/cb"],"grantTypes":["authorization_code"],"scopes":["openid"]}"#,
                    "redirectUris"
                ),
                (
                    #"{"name":"x","kind":"confidential","redirectUris":["https://evil@a.example/cb"],"grantTypes":["authorization_code"],"scopes":["openid"]}"#,
                    "redirectUris"
                ),
                (
                    #"{"name":"x","kind":"confidential","grantTypes":["client_credentials"],"scopes":["admin"],"idTokenSignedResponseAlg":"none"}"#,
                    "idTokenSignedResponseAlg"
                ),
                (#"{"name":"","kind":"confidential","grantTypes":["client_credentials"],"scopes":["admin"]}"#, "name"),
            ]
            for (json, field) in refusals {
                let detail = try await api.send(.post, "/v1/admin/oauth-clients", json: json, token: api.adminToken)
                    .expectProblem(.badRequest)
                #expect(detail.contains(field), "\(json): \(detail)")
            }
            for json in [
                #"{"name":"x","kind":"confidential","grantTypes":["client_credentials"],"scopes":["admin"],"clientSecret":"mine"}"#,
                #"{"name":"x","kind":"confidential","grantTypes":"client_credentials","scopes":["admin"]}"#,
                #"{"name":"x"}"#, "[]", "{",
            ] {
                try await api.send(.post, "/v1/admin/oauth-clients", json: json, token: api.adminToken)
                    .expectProblem(.badRequest)
            }
            #expect(try await Self.clients(api).isEmpty)
        }
    }

    static func clients(_ api: API) async throws -> [[String: Any]] {
        try #require(
            try await api.send(.get, "/v1/admin/oauth-clients", token: api.adminToken).object()["clients"]
                as? [[String: Any]])
    }
}
