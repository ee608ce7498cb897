import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import QSPPTestSupport
import Testing

@testable import App

/// Sender-constrained tokens (RFC 9449) through the real router, on both backends: binding at the token
/// endpoint with a server nonce, and every check a resource makes of a proof.
@Suite("DPoP")
struct DPoPAPITests {
    /// A token request with a proof, answering the server's nonce challenge as a client library would.
    static func tokenRequest(
        _ api: API, _ party: RelyingParty, _ key: DPoPKey, _ fields: [String: String], basic: Bool = true
    ) async throws -> TestResponse {
        let url = api.services.settings.issuer + "/token"
        let first = try await party.post(api, "/token", fields, basic: basic, proof: try key.proof("POST", url))
        #expect(first.status == .badRequest)
        #expect(try first.object()["error"] as? String == "use_dpop_nonce")
        let nonce = try #require(first.headers[.dpopNonce])
        return try await party.post(
            api, "/token", fields, basic: basic, proof: try key.proof("POST", url, nonce: nonce))
    }

    @Test(arguments: Backend.all)
    func boundTokensNeedAFreshProofByTheirKey(backend: Backend) async throws {
        try await withApp(backend) { api in
            let machine = try await RelyingParty.register(api, RelyingParty.backend)
            let subject = uniqueSubjectText()
            for key in [DPoPKey.es256(), DPoPKey.eddsa(), try DPoPKey.mldsa()] {
                let issued = try await Self.tokenRequest(
                    api, machine, key, ["grant_type": "client_credentials"], basic: false)
                #expect(issued.status == .ok, "\(key.algorithm): \(String(buffer: issued.body))")
                #expect(try issued.object()["token_type"] as? String == "DPoP")
                let token = try #require(try issued.object()["access_token"] as? String)
                #expect((try jwtPart(token, 1)["cnf"] as? [String: Any])?["jkt"] as? String == key.thumbprint)

                let path = "/v1/subjects/\(subject)/consents"
                let url = api.services.settings.issuer + path
                func read(_ proof: String?, scheme: String = "DPoP") async throws -> TestResponse {
                    var headers: HTTPFields = [.authorization: "\(scheme) \(token)"]
                    if let proof { headers[.dpop] = proof }
                    return try await api.client.executeRequest(
                        uri: path + "?reason=sync", method: .get, headers: headers, body: nil)
                }
                let proof = try key.proof("GET", url, accessToken: token)
                #expect(try await read(proof).status == .ok, "\(key.algorithm)")
                let refusals: [(String, String?, String)] = [
                    ("replayed", proof, "DPoP"),
                    ("wrong method", try key.proof("POST", url, accessToken: token), "DPoP"),
                    ("wrong URL", try key.proof("GET", url + "/history", accessToken: token), "DPoP"),
                    ("old", try key.proof("GET", url, accessToken: token, issuedAt: Date() - 300), "DPoP"),
                    ("another key", try DPoPKey.es256().proof("GET", url, accessToken: token), "DPoP"),
                    ("another token", try key.proof("GET", url, accessToken: "x"), "DPoP"),
                    ("no ath", try key.proof("GET", url), "DPoP"),
                    ("wrong typ", try key.proof("GET", url, accessToken: token, type: "JWT"), "DPoP"),
                    ("no proof", nil, "DPoP"),
                    ("as a bearer token", nil, "Bearer"),
                ]
                for (name, proof, scheme) in refusals {
                    let refused = try await read(proof, scheme: scheme)
                    #expect(refused.status == .unauthorized, "\(key.algorithm), \(name)")
                    #expect(refused.headers[.wwwAuthenticate]?.contains("invalid_dpop_proof") == true, "\(name)")
                }
            }

            // At the token endpoint, a stale nonce, a replayed proof and a wrong URL are refused too.
            let key = DPoPKey.es256()
            let url = api.services.settings.issuer + "/token"
            let stale = try await machine.post(
                api, "/token", ["grant_type": "client_credentials"], basic: false,
                proof: try key.proof("POST", url, nonce: "made-up"))
            #expect(try stale.object()["error"] as? String == "use_dpop_nonce")
            let nonce = try #require(stale.headers[.dpopNonce])
            let proof = try key.proof("POST", url, nonce: nonce)
            #expect(
                try await machine.post(api, "/token", ["grant_type": "client_credentials"], basic: false, proof: proof)
                    .status == .ok)
            let replayed = try await machine.post(
                api, "/token", ["grant_type": "client_credentials"], basic: false, proof: proof)
            #expect(try replayed.object()["error"] as? String == "invalid_dpop_proof")
            let elsewhere = try await machine.post(
                api, "/token", ["grant_type": "client_credentials"], basic: false,
                proof: try key.proof("POST", "https://evil.example/token", nonce: nonce))
            #expect(try elsewhere.object()["error"] as? String == "invalid_dpop_proof")
        }
    }

    @Test(arguments: Backend.all)
    func aBoundSessionRefreshesOnlyWithItsKey(backend: Backend) async throws {
        try await withApp(backend) { api in
            let (party, _, browser) = try await api.personSignedInWith(RelyingParty.webApp)
            let key = try DPoPKey.mldsa()
            let code = try await browser.code(for: party)
            let issued = try await Self.tokenRequest(
                api, party, key,
                [
                    "grant_type": "authorization_code", "code": code, "redirect_uri": party.redirectURI,
                    "code_verifier": party.verifier,
                ])
            #expect(issued.status == .ok, "\(String(buffer: issued.body))")
            let body = try issued.object()
            #expect(body["token_type"] as? String == "DPoP")
            let refresh = try #require(body["refresh_token"] as? String)
            let access = try #require(body["access_token"] as? String)
            let introspected = try await party.post(api, "/introspect", ["token": access]).object()
            #expect((introspected["cnf"] as? [String: Any])?["jkt"] as? String == key.thumbprint)

            let fields = ["grant_type": "refresh_token", "refresh_token": refresh]
            let bare = try await party.post(api, "/token", fields)
            #expect(try bare.object()["error"] as? String == "invalid_grant", "no proof")
            let other = try await Self.tokenRequest(api, party, DPoPKey.eddsa(), fields)
            #expect(try other.object()["error"] as? String == "invalid_grant", "another key")
            let same = try await Self.tokenRequest(api, party, key, fields)
            #expect(try same.status == .ok && (same.object()["token_type"] as? String) == "DPoP")

            // A bound token is exchanged only with a proof by its key.
            let exchanger = try await RelyingParty.register(
                api,
                #"{"name":"Backend","kind":"confidential","grantTypes":["urn:ietf:params:oauth:grant-type:token-exchange"],"scopes":["consent:read"]}"#
            )
            let stolen = try await exchanger.post(
                api, "/token",
                [
                    "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange", "subject_token": access,
                    "subject_token_type": "urn:ietf:params:oauth:token-type:access_token",
                ])
            #expect(try stolen.object()["error"] as? String == "invalid_grant")

            // UserInfo is a resource like any other.
            let fresh = try #require(try same.object()["access_token"] as? String)
            let url = api.services.settings.issuer + "/userinfo"
            let info = try await api.client.executeRequest(
                uri: "/userinfo", method: .get,
                headers: [.authorization: "DPoP \(fresh)", .dpop: try key.proof("GET", url, accessToken: fresh)],
                body: nil)
            #expect(info.status == .ok)
        }
    }
}
