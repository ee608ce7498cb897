import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import QSPPTestSupport
import Testing

@testable import App

/// `private_key_jwt` client authentication (RFC 7523 §2.2, OIDC Core §9) through the real router, on
/// both backends: a client registers public keys instead of getting a secret, and proves itself with a
/// signed assertion that is accepted once.
@Suite("private_key_jwt")
struct PrivateKeyJWTAPITests {
    static func registration(_ key: DPoPKey, kid: String = "k1") throws -> String {
        var jwk = key.jwk
        jwk["kid"] = kid
        let jwks = String(decoding: try JSONSerialization.data(withJSONObject: ["keys": [jwk]]), as: UTF8.self)
        return #"""
            {"name":"Signed backend","kind":"confidential","tokenEndpointAuthMethod":"private_key_jwt",
             "grantTypes":["client_credentials"],"scopes":["consent:read"],"jwks":\#(jwks)}
            """#
    }

    static func assertion(
        _ key: DPoPKey, client: String, audience: String, kid: String? = "k1", issuer: String? = nil,
        lifetime: TimeInterval = 60, issuedAt: Date = Date(), id: String? = UUID().uuidString,
        type: String? = "JWT", algorithm: String? = nil
    ) throws -> String {
        var header: [String: Any] = ["alg": algorithm ?? key.algorithm]
        if let kid { header["kid"] = kid }
        if let type { header["typ"] = type }
        var claims: [String: Any] = [
            "iss": issuer ?? client, "sub": client, "aud": audience,
            "iat": Int(issuedAt.timeIntervalSince1970),
            "exp": Int(issuedAt.addingTimeInterval(lifetime).timeIntervalSince1970),
        ]
        if let id { claims["jti"] = id }
        return try key.jws(header: header, claims: claims)
    }

    static func post(
        _ api: API, _ path: String, _ fields: [String: String], headers extra: HTTPFields = [:]
    ) async throws -> TestResponse {
        var headers: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]
        headers.append(contentsOf: extra)
        return try await api.client.executeRequest(
            uri: path, method: .post, headers: headers, body: ByteBuffer(string: RelyingParty.encoded(fields)))
    }

    static func credentials(_ assertion: String) -> [String: String] {
        [
            "grant_type": "client_credentials", "client_assertion": assertion,
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        ]
    }

    @Test(arguments: Backend.all)
    func aSignedAssertionAuthenticatesOnceAndNothingElseDoes(backend: Backend) async throws {
        try await withApp(backend) { api in
            let issuer = api.services.settings.issuer
            let tokenURL = issuer + "/token"
            for key in [DPoPKey.es256(), DPoPKey.eddsa(), try DPoPKey.mldsa()] {
                let party = try await RelyingParty.register(api, try Self.registration(key))
                #expect(party.secret == nil, "a private_key_jwt client is given no secret")
                let client = party.id

                let good = try Self.assertion(key, client: client, audience: tokenURL)
                let issued = try await Self.post(api, "/token", Self.credentials(good))
                #expect(issued.status == .ok, "\(key.algorithm): \(String(buffer: issued.body))")
                let replayed = try await Self.post(api, "/token", Self.credentials(good))
                #expect(replayed.status == .unauthorized, "\(key.algorithm): a replayed assertion")
                #expect(try replayed.object()["error"] as? String == "invalid_client")

                // The issuer as audience, no kid (the set has one key) and no typ are all fine.
                let plain = try Self.assertion(key, client: client, audience: issuer, kid: nil, type: nil)
                #expect(try await Self.post(api, "/token", Self.credentials(plain)).status == .ok, "\(key.algorithm)")

                let other = try DPoPKey.mldsa()
                let refused: [(String, String)] = [
                    (
                        "another audience",
                        try Self.assertion(key, client: client, audience: "https://elsewhere.example")
                    ),
                    ("iss is not sub", try Self.assertion(key, client: client, audience: tokenURL, issuer: "someone")),
                    (
                        "expired",
                        try Self.assertion(
                            key, client: client, audience: tokenURL, issuedAt: Date().addingTimeInterval(-600))
                    ),
                    ("lives two hours", try Self.assertion(key, client: client, audience: tokenURL, lifetime: 7200)),
                    ("no jti", try Self.assertion(key, client: client, audience: tokenURL, id: nil)),
                    ("another key", try Self.assertion(other, client: client, audience: tokenURL)),
                    (
                        "a DPoP proof's type",
                        try Self.assertion(key, client: client, audience: tokenURL, type: "dpop+jwt")
                    ),
                    (
                        "another algorithm",
                        try Self.assertion(
                            key, client: client, audience: tokenURL,
                            algorithm: key.algorithm == "EdDSA" ? "ES256" : "EdDSA")
                    ),
                    ("an unknown kid", try Self.assertion(key, client: client, audience: tokenURL, kid: "k2")),
                    ("not a JWT", "a.b.c"),
                    (
                        "two audiences",
                        try key.jws(
                            header: ["alg": key.algorithm, "kid": "k1", "typ": "JWT"],
                            claims: [
                                "iss": client, "sub": client, "aud": [tokenURL, "https://other-server.example"],
                                "jti": UUID().uuidString,
                                "exp": Int(Date().addingTimeInterval(60).timeIntervalSince1970),
                            ])
                    ),
                ]
                for (why, assertion) in refused {
                    let answer = try await Self.post(api, "/token", Self.credentials(assertion))
                    #expect(answer.status == .unauthorized, "\(key.algorithm), \(why): \(String(buffer: answer.body))")
                    #expect(try answer.object()["error"] as? String == "invalid_client", "\(why)")
                }

                // One way of authenticating only, and the pieces must fit.
                let fresh = try Self.assertion(key, client: client, audience: tokenURL)
                var withSecret = Self.credentials(fresh)
                withSecret["client_secret"] = "guess"
                var wrongType = Self.credentials(fresh)
                wrongType["client_assertion_type"] = "urn:ietf:params:oauth:client-assertion-type:saml2-bearer"
                var noType = Self.credentials(fresh)
                noType["client_assertion_type"] = nil
                for fields in [withSecret, wrongType, noType] {
                    let answer = try await Self.post(api, "/token", fields)
                    #expect(answer.status == .badRequest, "\(fields.keys.sorted())")
                    #expect(try answer.object()["error"] as? String == "invalid_request")
                }
                let basic = try await Self.post(
                    api, "/token", Self.credentials(fresh),
                    headers: [.authorization: "Basic " + Data("\(client):x".utf8).base64EncodedString()])
                #expect(basic.status == .badRequest)
                var otherID = Self.credentials(fresh)
                otherID["client_id"] = "someone-else"
                #expect(try await Self.post(api, "/token", otherID).status == .unauthorized)
                // The same client cannot fall back to a secret.
                let secretOnly = try await Self.post(
                    api, "/token", ["grant_type": "client_credentials", "client_id": client, "client_secret": "x"])
                #expect(secretOnly.status == .unauthorized)

                // Introspection takes an assertion too, with the issuer or its own URL as audience.
                let token = try #require(try issued.object()["access_token"] as? String)
                var introspect = Self.credentials(
                    try Self.assertion(key, client: client, audience: issuer + "/introspect"))
                introspect["grant_type"] = nil
                introspect["token"] = token
                let introspection = try await Self.post(api, "/introspect", introspect)
                #expect(introspection.status == .ok)
                #expect(try introspection.object()["active"] as? Bool == true)
            }
        }
    }

    @Test func registrationRefusesKeysThatCannotAuthenticate() async throws {
        try await withApp(.sqlite) { api in
            let key = DPoPKey.es256()
            var privateMember = key.jwk
            privateMember["kid"] = "k1"
            privateMember["d"] = "AAAA"
            var badPoint = key.jwk
            badPoint["kid"] = "k1"
            badPoint["x"] = String(repeating: "A", count: 43)
            var noKid = key.jwk
            noKid["kty"] = "EC"
            var twin = key.jwk
            twin["kid"] = "same"
            var rsa = ["kty": "RSA", "kid": "r", "n": "AQAB", "e": "AQAB"]
            rsa["use"] = "sig"
            func body(
                _ keys: [[String: String]]?, method: String = "private_key_jwt", kind: String = "confidential"
            )
                throws -> String
            {
                let jwks =
                    try keys.map {
                        #","jwks":"#
                            + String(decoding: try JSONSerialization.data(withJSONObject: ["keys": $0]), as: UTF8.self)
                    } ?? ""
                let grants = kind == "public" ? #"["authorization_code"]"# : #"["client_credentials"]"#
                let redirect = kind == "public" ? #","redirectUris":["http://127.0.0.1:9/cb"]"# : ""
                let scopes = kind == "public" ? #"["openid"]"# : #"["consent:read"]"#
                return #"""
                    {"name":"Bad","kind":"\#(kind)","tokenEndpointAuthMethod":"\#(method)","grantTypes":\#(grants),
                     "scopes":\#(scopes)\#(redirect)\#(jwks)}
                    """#
            }
            let cases: [(String, String)] = [
                ("no keys", try body(nil)),
                ("an empty set", try body([])),
                ("a private member", try body([privateMember])),
                ("a point off the curve", try body([badPoint])),
                ("no kid", try body([noKid])),
                ("a kid twice", try body([twin, twin])),
                ("RSA", try body([rsa])),
                ("keys with a secret", try body([twin], method: "client_secret_basic")),
                ("a public client", try body([twin], method: "private_key_jwt", kind: "public")),
            ]
            for (why, json) in cases {
                let answer = try await api.send(.post, "/v1/admin/oauth-clients", json: json, token: api.adminToken)
                #expect(answer.status == .badRequest, "\(why): \(String(buffer: answer.body))")
                #expect(answer.headers[.contentType] == "application/problem+json", "\(why)")
            }
            let party = try await RelyingParty.register(api, try Self.registration(key))
            let rotation = try await api.send(
                .post, "/v1/admin/oauth-clients/\(party.id)/secret", json: "{}", token: api.adminToken)
            #expect(rotation.status == .badRequest, "a client without a secret has none to rotate")
        }
    }
}
