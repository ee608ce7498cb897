import Foundation
import PQCrypto
import Testing

@testable import Identity

/// The rules of an authorization request, before any database or HTTP: what is refused, and whether
/// the refusal may go back to the client or must stay with the person.
@Suite("Authorization requests")
struct AuthorizationRequestTests {
    static let client = OAuthClient(
        id: "Zm9vYmFyYmF6cXV4MTIzNA", name: "Shop", kind: .confidential, authentication: .clientSecretBasic,
        secretDigest: "x", redirectURIs: ["https://shop.example/callback", "http://127.0.0.1:8400/cb"],
        grantTypes: [.authorizationCode, .refreshToken], scopes: [.openid, .email, .offlineAccess, .consentRead],
        backChannelLogoutURI: nil, requiresPushedRequests: false, idTokenAlgorithm: .mldsa65, createdAt: Date(),
        createdBy: UUID())
    static let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"

    static func parameters(_ changes: [String: String?] = [:]) -> [(name: String, value: String)] {
        var values: [String: String] = [
            "response_type": "code", "client_id": client.id, "redirect_uri": "https://shop.example/callback",
            "scope": "openid email", "state": "s-1", "nonce": "n-1", "code_challenge": challenge,
            "code_challenge_method": "S256",
        ]
        for (name, value) in changes { values[name] = value }
        return values.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    @Test func aWellFormedRequestIsAccepted() throws {
        let request = try AuthorizationRequest.checked(Self.parameters(), client: Self.client)
        #expect(request.scopes == [.openid, .email])
        #expect(request.state == "s-1" && request.nonce == "n-1" && request.responseMode == .query)
        let posted = try AuthorizationRequest.checked(
            Self.parameters(["response_mode": "form_post"]), client: Self.client)
        #expect(posted.responseMode == .formPost)
    }

    @Test("the RFC 7636 Appendix B verifier matches its challenge, and nothing else does")
    func pkceVector() {
        #expect(PKCE.verifies("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", challenge: Self.challenge))
        #expect(!PKCE.verifies("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXl", challenge: Self.challenge))
        // A plain-method downgrade: the challenge itself as the verifier.
        #expect(!PKCE.verifies(Self.challenge, challenge: Self.challenge))
        #expect(!PKCE.verifies("short", challenge: Self.challenge))
        #expect(!PKCE.verifies(String(repeating: "a", count: 129), challenge: Self.challenge))
        #expect(!PKCE.verifies("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjX+", challenge: Self.challenge))
    }

    @Test(
        "a redirect URI that is not registered character for character is never redirected to",
        arguments: [
            "https://shop.example/callback/extra", "https://shop.example/call", "https://SHOP.example/callback",
            "https://shop.example/callback?x=1", "https://shop.example/callback#f",
            "https://shop.example.evil/callback",
            "https://evil.example/callback", "http://shop.example/callback", "https://shop.example:443/callback",
            "http://127.0.0.1:8400/cb/x", "http://127.0.0.1:8400/c", "http://127.0.0.1:8401/cb?x=1",
            "http://127.0.0.1.evil.example:8401/cb", "http://127.0.0.1:8401x/cb", "http://[::1]:8400/cb",
            "http://localhost:8400/cb", "https://127.0.0.1:8400/cb", "",
        ])
    func redirectVariants(uri: String) {
        #expect(Self.staysWithThePerson(Self.parameters(["redirect_uri": uri]), client: Self.client), "\(uri)")
    }

    @Test(
        "a native app's loopback redirect URI may name any port (RFC 8252 §7.3), and nothing else may differ",
        arguments: [
            "http://127.0.0.1:8400/cb", "http://127.0.0.1:8401/cb", "http://127.0.0.1:65535/cb", "http://127.0.0.1/cb",
        ])
    func loopbackPorts(uri: String) {
        #expect(!Self.staysWithThePerson(Self.parameters(["redirect_uri": uri]), client: Self.client), "\(uri)")
    }

    @Test func anUnknownClientOrAMissingRedirectIsShownNotRedirected() {
        #expect(Self.staysWithThePerson(Self.parameters(), client: nil))
        #expect(Self.staysWithThePerson(Self.parameters(["client_id": "other"]), client: Self.client))
        #expect(Self.staysWithThePerson(Self.parameters(["redirect_uri": nil]), client: Self.client))
        #expect(Self.staysWithThePerson(Self.parameters(["client_id": nil]), client: Self.client))
        var repeated = Self.parameters()
        repeated.append(("redirect_uri", "https://evil.example/callback"))
        #expect(Self.staysWithThePerson(repeated, client: Self.client))
    }

    /// Whether the request fails without anything sent to the redirect URI.
    static func staysWithThePerson(_ parameters: [(name: String, value: String)], client: OAuthClient?) -> Bool {
        do {
            _ = try AuthorizationRequest.checked(parameters, client: client)
            return false
        } catch .unredirectable {
            return true
        } catch {
            return false
        }
    }

    @Test(
        "bad requests from a known client go back to it with the error the spec names, its state and its redirect",
        arguments: [
            (["code_challenge": nil], "invalid_request"),
            (["code_challenge_method": nil], "invalid_request"),
            (["code_challenge_method": "plain"], "invalid_request"),
            (["code_challenge": "too-short"], "invalid_request"),
            (["response_type": "token"], "unsupported_response_type"),
            (["response_type": "code id_token"], "unsupported_response_type"),
            (["response_type": nil], "invalid_request"),
            (["scope": "openid admin"], "invalid_scope"),
            (["scope": "openid unknown"], "invalid_scope"),
            (["scope": nil], "invalid_scope"),
            (["response_mode": "fragment"], "invalid_request"),
            (["request": "eyJ.x.y"], "request_not_supported"),
            (["prompt": "none login"], "invalid_request"),
            (["max_age": "-1"], "invalid_request"),
            (["nonce": ""], "invalid_request"),
        ] as [([String: String?], String)])
    func refusalsGoBack(changes: [String: String?], code: String) {
        do {
            _ = try AuthorizationRequest.checked(Self.parameters(changes), client: Self.client)
            Issue.record("accepted \(changes)")
        } catch .redirect(let error, let reply) {
            #expect(error.code.rawValue == code, "\(changes)")
            #expect(reply.redirectURI == "https://shop.example/callback" && reply.state == "s-1")
            #expect(!error.detail.contains("eyJ") && !error.detail.contains("unknown"), "no echo of the request")
        } catch {
            Issue.record("\(changes): \(error)")
        }
    }

    @Test func aClientThatMustPushItsRequestsCannotSendThemInTheURL() {
        var client = Self.client
        client.requiresPushedRequests = true
        #expect(throws: AuthorizationFailure.self) {
            _ = try AuthorizationRequest.checked(Self.parameters(), client: client)
        }
        #expect(throws: Never.self) {
            _ = try AuthorizationRequest.checked(Self.parameters(), client: client, pushed: true)
        }
    }

    @Test func anErrorAnswerCarriesTheIssuerAndState() {
        let reply = AuthorizationRequest.Reply(
            redirectURI: "https://shop.example/callback", state: "abc", responseMode: .query)
        let answer = OAuthError(.accessDenied, "the person declined").answer(to: reply, issuer: "https://id.example")
        #expect(answer.parameters.map(\.name) == ["error", "error_description", "state", "iss"])
        #expect(answer.parameters.last?.value == "https://id.example")
    }
}
