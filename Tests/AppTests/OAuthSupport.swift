import Crypto
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import PQCrypto
import QSPPTestSupport
import Testing

/// A relying party as the API tests play it: a registered client, its PKCE pair, and the requests an
/// OAuth library would send.
struct RelyingParty: Sendable {
    let id: String
    let secret: String?
    let redirectURI: String
    var verifier = OpaqueSecretForTests.verifier()

    var challenge: String { Base64URL.encode(Data(SHA256.hash(data: Data(verifier.utf8)))) }

    /// Registers a client through the admin API.
    static func register(_ api: API, _ json: String) async throws -> RelyingParty {
        let created = try await api.send(.post, "/v1/admin/oauth-clients", json: json, token: api.adminToken)
        #expect(created.status == .created, "\(String(buffer: created.body))")
        let body = try created.object()
        let client = try #require(body["client"] as? [String: Any])
        return RelyingParty(
            id: try #require(client["clientId"] as? String), secret: body["clientSecret"] as? String,
            redirectURI: (client["redirectUris"] as? [String])?.first ?? "")
    }

    static let webApp = #"""
        {"name":"Shop","kind":"confidential","tokenEndpointAuthMethod":"client_secret_basic",
         "redirectUris":["https://shop.example/callback"],"grantTypes":["authorization_code","refresh_token"],
         "scopes":["openid","email","profile","offline_access","consent:read"]}
        """#

    static let backend = #"""
        {"name":"CRM sync","kind":"confidential","tokenEndpointAuthMethod":"client_secret_post",
         "grantTypes":["client_credentials"],"scopes":["consent:read","requests:manage"]}
        """#

    static let nativeApp = #"""
        {"name":"Desktop","kind":"public","redirectUris":["http://127.0.0.1:8400/cb"],
         "grantTypes":["authorization_code"],"scopes":["openid"]}
        """#

    func authorizePath(
        scope: String = "openid email offline_access", state: String = "state-1", nonce: String? = "nonce-1",
        extra: [String: String] = [:]
    ) -> String {
        var parameters = [
            "response_type": "code", "client_id": id, "redirect_uri": redirectURI, "scope": scope, "state": state,
            "code_challenge": challenge, "code_challenge_method": "S256",
        ]
        if let nonce { parameters["nonce"] = nonce }
        for (name, value) in extra { parameters[name] = value }
        return "/authorize?" + Self.encoded(parameters)
    }

    /// Posts to the token endpoint (or another client-authenticated one) as the client registered to.
    func post(
        _ api: API, _ path: String, _ fields: [String: String], basic: Bool = true, secret: String? = nil,
        proof: String? = nil
    ) async throws -> TestResponse {
        var fields = fields
        var headers: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]
        if let proof { headers[.dpop] = proof }
        let secret = secret ?? self.secret
        if let secret, basic {
            headers[.authorization] = "Basic " + Data("\(id):\(secret)".utf8).base64EncodedString()
        } else {
            fields["client_id"] = id
            if let secret { fields["client_secret"] = secret }
        }
        return try await api.client.executeRequest(
            uri: path, method: .post, headers: headers, body: ByteBuffer(string: Self.encoded(fields)))
    }

    func exchange(_ api: API, code: String, basic: Bool = true) async throws -> TestResponse {
        try await post(
            api, "/token",
            ["grant_type": "authorization_code", "code": code, "redirect_uri": redirectURI, "code_verifier": verifier],
            basic: basic)
    }

    static func encoded(_ parameters: [String: String]) -> String {
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-._~"))
        return parameters.sorted { $0.key < $1.key }.map {
            "\($0.key)=\($0.value.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")"
        }.joined(separator: "&")
    }

    /// The parameters of a redirect's query.
    static func answer(_ location: String?) -> [String: String] {
        guard let location, let components = URLComponents(string: location) else { return [:] }
        return Dictionary(
            (components.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { first, _ in first })
    }
}

enum OpaqueSecretForTests {
    static func verifier() -> String {
        Base64URL.encode(Data((0..<32).map { _ in UInt8.random(in: 0...255) }))
    }
}

extension API {
    /// A client registered from `json`, and a new person signed in to the portal in a browser of their own.
    func personSignedInWith(_ json: String) async throws -> (RelyingParty, TestUser, Browser) {
        let party = try await RelyingParty.register(self, json)
        let user = try await newUser()
        let browser = Browser(client)
        try await browser.signIn(user.email)
        return (party, user, browser)
    }
}

extension Browser {
    /// The code of an authorization the person allows.
    func code(for party: RelyingParty, scope: String = "openid email offline_access") async throws -> String {
        let answered = try await authorize(party.authorizePath(scope: scope))
        return try #require(RelyingParty.answer(answered.headers[.location])["code"])
    }

    /// Signs in through the portal's own page.
    func signIn(_ email: String, password: String = testPassword) async throws {
        _ = try await get("/login")
        let response = try await post("/login", ["email": email, "password": password])
        #expect(response.status == .seeOther)
    }

    /// Follows an authorization request through the consent screen and answers it; returns the redirect
    /// to the client.
    func authorize(_ path: String, decision: String = "allow") async throws -> TestResponse {
        let page = try await get(path)
        guard page.status == .ok, let request = Self.hiddenField("request", in: page.html) else { return page }
        return try await post("/authorize", ["request": request, "decision": decision])
    }

    static func hiddenField(_ name: String, in html: String) -> String? {
        guard let start = html.range(of: "name=\"\(name)\" value=\"") else { return nil }
        let value = html[start.upperBound...].prefix { $0 != "\"" }
        return String(value).replacingOccurrences(of: "&amp;", with: "&").replacingOccurrences(of: "&quot;", with: "\"")
            .replacingOccurrences(of: "&#39;", with: "'").replacingOccurrences(of: "&lt;", with: "<")
            .replacingOccurrences(of: "&gt;", with: ">")
    }
}
