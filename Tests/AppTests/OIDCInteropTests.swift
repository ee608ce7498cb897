import Crypto
import Foundation
import HTTPTypes
import NIOCore
import PQCrypto
import QSPPTestSupport
import Testing

/// QSPP as an OpenID provider to a relying party it did not write: Python's authlib against a live
/// `qspp serve`, on both backends, with every ID token checked by dilithium-py or joserfc.
@Suite("OpenID Connect interop (authlib)")
struct OIDCInteropTests {
    @Test(arguments: Backend.all)
    func authlibSignsInRefreshesRevokesAndCallsAsAMachine(backend: Backend) async throws {
        let url =
            switch backend {
            case .sqlite: "sqlite:" + temporaryPath("qspp-oidc", extension: "sqlite")
            case .postgres: try await isolatedPostgresURL()
            }
        let server = try ServerProcess(
            databaseURL: url, environment: ["QSPP_OAUTH_LOGOUT_PRIVATE_NETWORKS": "true"])
        try await server.waitUntilListening()
        defer { server.signal(SIGTERM) }

        // The ML-DSA-65 client signs out, and is told so at the relying party's back-channel endpoint.
        let logoutPort = try freePort()
        var web: [[String: String]] = []
        for algorithm in ["ML-DSA-65", "EdDSA", "ES256"] {
            let redirect = "http://127.0.0.1:9/callback-\(algorithm.lowercased())"
            let signsOut = algorithm == "ML-DSA-65"
            let logout =
                signsOut
                ? #","postLogoutRedirectUris":["http://127.0.0.1:9/signed-out"],"#
                    + #""backchannelLogoutUri":"http://127.0.0.1:\#(logoutPort)/backchannel-logout""#
                : ""
            let client = try await register(
                server,
                #"""
                {"name":"Shop \#(algorithm)","kind":"confidential","redirectUris":["\#(redirect)"],
                 "grantTypes":["authorization_code","refresh_token"],
                 "scopes":["openid","email","offline_access","consent:read"],
                 "idTokenSignedResponseAlg":"\#(algorithm)","requirePushedAuthorizationRequests":\#(algorithm == "ES256")
                 \#(logout)}
                """#)
            web.append([
                "id": client.id, "secret": client.secret, "redirect_uri": redirect, "alg": algorithm,
                "pushed": algorithm == "ES256" ? "yes" : "",
                "post_logout_redirect_uri": signsOut ? "http://127.0.0.1:9/signed-out" : "",
            ])
        }
        let machine = try await register(
            server,
            #"""
            {"name":"CRM","kind":"confidential","tokenEndpointAuthMethod":"client_secret_post",
             "grantTypes":["client_credentials"],"scopes":["consent:read"]}
            """#)

        let exchanger = try await register(
            server,
            #"""
            {"name":"Orders","kind":"confidential","grantTypes":["urn:ietf:params:oauth:grant-type:token-exchange"],
             "scopes":["consent:read"]}
            """#)

        // private_key_jwt: authlib signs with the P-256 key, dilithium-py with the ML-DSA-65 key it
        // derives from the same seed.
        let p256 = P256.Signing.PrivateKey()
        let mldsa = try MLDSA65.PrivateKey()
        var signed: [String: [String: String]] = [:]
        for (name, jwk) in [
            ("es256", DPoPKey.jwk(of: p256.publicKey)),
            (
                "mldsa",
                ["kty": "AKP", "alg": "ML-DSA-65", "pub": Base64URL.encode(mldsa.publicKey.rawRepresentation)]
            ),
        ] {
            var key = jwk
            key["kid"] = "\(name)-1"
            let jwks = String(decoding: try JSONSerialization.data(withJSONObject: ["keys": [key]]), as: UTF8.self)
            let client = try await register(
                server,
                #"""
                {"name":"Signed \#(name)","kind":"confidential","tokenEndpointAuthMethod":"private_key_jwt",
                 "grantTypes":["client_credentials"],"scopes":["consent:read"],"jwks":\#(jwks)}
                """#, secret: false)
            signed[name] = ["id": client.id, "kid": "\(name)-1"]
        }
        signed["es256"]?["pem"] = p256.pemRepresentation
        signed["mldsa"]?["seed"] = mldsa.seedRepresentation.map { String(format: "%02x", $0) }.joined()

        let email = "rp-\(UUID().uuidString.lowercased())@example.com"
        let registered = try await server.request(
            .post, "/v1/auth/register", json: #"{"email":"\#(email)","password":"\#(testPassword)"}"#,
            authorized: false)
        #expect(registered.status == .accepted)
        let login = try await server.request(
            .post, "/v1/auth/login", json: #"{"email":"\#(email)","password":"\#(testPassword)"}"#, authorized: false)
        let user = try JSONSerialization.jsonObject(with: Data(try #require(login.body).readableBytesView))
        let subject = try #require(((user as? [String: Any])?["user"] as? [String: Any])?["id"] as? String)

        let config: [String: Any] = [
            "web": web, "machine": ["id": machine.id, "secret": machine.secret],
            "exchanger": ["id": exchanger.id, "secret": exchanger.secret],
            "person": ["email": email, "password": testPassword, "subject": subject], "logout_port": logoutPort,
            "signed": signed,
        ]
        let configJSON = String(decoding: try JSONSerialization.data(withJSONObject: config), as: UTF8.self)
        let result = try python("oidc_relying_party.py", ["http://127.0.0.1:\(server.port)", configJSON])
        #expect(result.status == 0, "\(result.output)\n\(server.log.suffix(3000))")
        let steps = result.output.split(separator: "\n").filter { $0.hasPrefix("ok ") }
        // Discovery; five steps for each of the three web clients, one of them pushed, and the one that
        // signs out instead of revoking has two logout steps; token exchange; client credentials; two
        // private_key_jwt clients; DPoP.
        let expectedSteps = 23
        #expect(steps.count == expectedSteps, "\(result.output)")
        for algorithm in ["ML-DSA-65", "EdDSA", "ES256"] {
            #expect(result.output.contains("ok ID token (\(algorithm), checked independently)"))
        }
        #expect(result.output.contains("ok back-channel logout (ML-DSA-65, checked independently)"))
    }

    private func register(
        _ server: ServerProcess, _ json: String, secret: Bool = true
    ) async throws -> (id: String, secret: String) {
        let response = try await server.request(.post, "/v1/admin/oauth-clients", json: json)
        let bytes = Data(try #require(response.body).readableBytesView)
        #expect(response.status == .created, "\(String(decoding: bytes, as: UTF8.self))")
        let body = try #require(try JSONSerialization.jsonObject(with: bytes) as? [String: Any])
        let client = try #require(body["client"] as? [String: Any])
        let issued = body["clientSecret"] as? String
        #expect((issued != nil) == secret)
        return (try #require(client["clientId"] as? String), issued ?? "")
    }
}
