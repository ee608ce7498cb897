import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import QSPPTestSupport
import Testing

@testable import App

/// Dynamic client registration (RFC 7591) through the real router, on both backends: off by default;
/// when on, a client registers itself once per initial access token, within the token's scopes, and
/// the client it gets works at the token endpoint.
@Suite("Dynamic client registration")
struct DynamicRegistrationAPITests {
    static func issueToken(_ api: API, scopes: [String], minutes: Int? = nil) async throws -> String {
        let minutesMember = minutes.map { #","expiresInMinutes":\#($0)"# } ?? ""
        let issued = try await api.send(
            .post, "/v1/admin/oauth-registration-tokens",
            json:
                #"{"scopes":\#(String(decoding: try JSONSerialization.data(withJSONObject: scopes), as: UTF8.self))\#(minutesMember)}"#,
            token: api.adminToken)
        #expect(issued.status == .created, "\(String(buffer: issued.body))")
        #expect(issued.headers[.cacheControl] == "no-store")
        return try #require(try issued.object()["token"] as? String)
    }

    static func register(_ api: API, _ metadata: String, token: String?) async throws -> TestResponse {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let token { headers[.authorization] = "Bearer \(token)" }
        return try await api.client.executeRequest(
            uri: "/oauth/register", method: .post, headers: headers, body: ByteBuffer(string: metadata))
    }

    static let webApp = #"""
        {"client_name":"Warehouse","redirect_uris":["https://warehouse.example/cb"],
         "grant_types":["authorization_code","refresh_token"],"scope":"openid consent:read",
         "token_endpoint_auth_method":"client_secret_post","logo_uri":"https://warehouse.example/logo.png"}
        """#

    /// A machine client would reach its scopes for every subject: only an administrator registers one.
    static let backend = #"""
        {"client_name":"Warehouse sync","grant_types":["client_credentials"],"scope":"consent:read",
         "token_endpoint_auth_method":"client_secret_post"}
        """#

    @Test func registrationIsOffByDefault() async throws {
        try await withApp(.sqlite) { api in
            let metadata = try await api.send(.get, "/.well-known/openid-configuration", token: nil)
            #expect(try metadata.object()["registration_endpoint"] == nil)
            let answer = try await Self.register(api, Self.backend, token: "anything")
            #expect(answer.status == .notFound)
            let token = try await api.send(
                .post, "/v1/admin/oauth-registration-tokens", json: #"{"scopes":["openid"]}"#, token: api.adminToken)
            #expect(token.status == .badRequest)
        }
    }

    @Test(arguments: Backend.all)
    func aClientRegistersOnceWithinItsTokensScopes(backend: Backend) async throws {
        try await withApp(backend, isolated: true, configure: { $0.signIn.dynamicClientRegistration = true }) { api in
            let metadata = try await api.send(.get, "/.well-known/openid-configuration", token: nil)
            #expect(
                try metadata.object()["registration_endpoint"] as? String == api.services.settings.issuer
                    + "/oauth/register")

            let token = try await Self.issueToken(api, scopes: ["consent:read", "openid"])
            let machine = try await Self.register(api, Self.backend, token: token)
            #expect(machine.status == .badRequest)
            #expect(try machine.object()["error"] as? String == "invalid_client_metadata")
            let registered = try await Self.register(api, Self.webApp, token: token)
            #expect(registered.status == .created, "\(String(buffer: registered.body))")
            #expect(registered.headers[.cacheControl] == "no-store")
            let client = try registered.object()
            let id = try #require(client["client_id"] as? String)
            let secret = try #require(client["client_secret"] as? String)
            #expect(client["client_secret_expires_at"] as? Int == 0)
            #expect(client["scope"] as? String == "consent:read openid")
            #expect(client["grant_types"] as? [String] == ["authorization_code", "refresh_token"])
            #expect(client["logo_uri"] == nil, "unknown metadata is ignored, not echoed")

            // The client authenticates at the token endpoint: a made-up code is the grant's fault, not the
            // client's.
            let party = RelyingParty(id: id, secret: secret, redirectURI: "https://warehouse.example/cb")
            let issued = try await party.post(
                api, "/token",
                [
                    "grant_type": "authorization_code", "code": "made-up", "redirect_uri": party.redirectURI,
                    "code_verifier": String(repeating: "v", count: 43),
                ], basic: false)
            #expect(issued.status == .badRequest, "\(String(buffer: issued.body))")
            #expect(try issued.object()["error"] as? String == "invalid_grant")

            // The token registers one client only.
            let again = try await Self.register(api, Self.webApp, token: token)
            #expect(again.status == .unauthorized)
            #expect(try again.object()["error"] as? String == "invalid_token")

            // The registration is audited in the issuing admin's name.
            let audit = try await api.services.store.identity.authEvents(userID: nil, limit: 50)
            let event = try #require(audit.first { $0.kind == .oauthClientRegistered && $0.details["client_id"] == id })
            #expect(event.details["dynamic"] == "true" && event.userID != nil)
            #expect(audit.contains { $0.kind == .oauthRegistrationTokenIssued })
        }
    }

    @Test(arguments: Backend.all)
    func badRegistrationsGetTheErrorsRFC7591Names(backend: Backend) async throws {
        // A database of its own: it counts every client, and other tests register theirs concurrently.
        try await withApp(backend, isolated: true, configure: { $0.signIn.dynamicClientRegistration = true }) { api in
            let before = try await api.services.store.identity.oauthClients().count
            #expect(try await Self.register(api, Self.webApp, token: nil).status == .unauthorized)
            #expect(try await Self.register(api, "{}", token: nil).status == .unauthorized, "who asks comes first")
            #expect(try await Self.register(api, Self.webApp, token: api.adminToken).status == .unauthorized)
            #expect(try await Self.register(api, Self.webApp, token: "not.a.token").status == .unauthorized)

            let token = try await Self.issueToken(api, scopes: ["openid", "email"])
            let cases: [(String, String)] = [
                (#"{"grant_types":["client_credentials"],"scope":"admin"}"#, "invalid_client_metadata"),
                (#"{"redirect_uris":["https://shop.example/cb#frag"],"scope":"openid"}"#, "invalid_redirect_uri"),
                (#"{"redirect_uris":["http://shop.example/cb"],"scope":"openid"}"#, "invalid_redirect_uri"),
                (
                    #"{"redirect_uris":["https://shop.example/cb"],"response_types":["token"]}"#,
                    "invalid_client_metadata"
                ),
                (
                    #"{"redirect_uris":["https://shop.example/cb"],"grant_types":["password"]}"#,
                    "invalid_client_metadata"
                ),
                (
                    #"{"redirect_uris":["https://shop.example/cb"],"jwks_uri":"https://shop.example/jwks"}"#,
                    "invalid_client_metadata"
                ),
                (
                    #"{"redirect_uris":["https://shop.example/cb"],"token_endpoint_auth_method":"tls_client_auth"}"#,
                    "invalid_client_metadata"
                ),
                (
                    #"{"redirect_uris":["https://shop.example/cb"],"id_token_signed_response_alg":"none"}"#,
                    "invalid_client_metadata"
                ),
            ]
            for (metadata, error) in cases {
                let answer = try await Self.register(api, metadata, token: token)
                #expect(answer.status == .badRequest, "\(metadata): \(String(buffer: answer.body))")
                #expect(try answer.object()["error"] as? String == error, "\(metadata)")
            }
            let notJSON = try await Self.register(api, "{", token: token)
            #expect(notJSON.status == .badRequest)
            #expect(try await api.services.store.identity.oauthClients().count == before, "nothing was registered")

            // A refused registration does not spend the token.
            let web = try await Self.register(
                api,
                #"{"redirect_uris":["https://shop.example/cb"],"scope":"openid email","token_endpoint_auth_method":"none"}"#,
                token: token)
            #expect(web.status == .created, "\(String(buffer: web.body))")
            #expect(try web.object()["client_secret"] == nil, "a public client has no secret")

            for body in [#"{"scopes":["openid"],"expiresInMinutes":0}"#, #"{"scopes":[]}"#, #"{"scopes":["root"]}"#] {
                let refused = try await api.send(
                    .post, "/v1/admin/oauth-registration-tokens", json: body, token: api.adminToken)
                #expect(refused.status == .badRequest, "\(body)")
            }
        }
    }
}
