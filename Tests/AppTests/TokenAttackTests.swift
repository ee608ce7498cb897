import Crypto
import Foundation
import HTTPTypes
import HummingbirdTesting
import Identity
import JWTKit
import PQCrypto
import QSPPTestSupport
import Testing

@Suite("Token attacks")
struct TokenAttackTests {
    /// Signs `claims` with `header` using a key QSPP never saw.
    func forge(header: [String: Any], claims: [String: Any], signer: (Data) throws -> Data) throws -> String {
        let signingInput = try base64URL(json: header) + "." + base64URL(json: claims)
        return signingInput + "." + Base64URL.encode(try signer(Data(signingInput.utf8)))
    }

    @Test(arguments: Backend.all)
    func everyKindOfBadTokenIsRefused(backend: Backend) async throws {
        try await withApp(backend) { api in
            let user = try await api.newUser()
            #expect(try await api.send(.get, "/v1/me", token: user.accessToken).status == .ok)
            let header = try jwtPart(user.accessToken, 0)
            var claims = try jwtPart(user.accessToken, 1)
            let parts = user.accessToken.split(separator: ".").map(String.init)
            let jwks = try await api.send(.get, "/.well-known/jwks.json", token: nil).object()
            let publicKey = try #require((jwks["keys"] as? [[String: Any]])?.first?["pub"] as? String)

            var attacks: [(String, String)] = []
            // The admin's id in the victim's claims, with the victim's signature.
            claims["roles"] = ["user", "admin"]
            attacks.append(
                ("tampered claims", parts[0] + "." + (try base64URL(json: claims)) + "." + parts[2]))
            attacks.append(("truncated", String(user.accessToken.dropLast(12))))
            attacks.append(("two parts", parts[0] + "." + parts[1]))
            attacks.append(("garbage", "not.a.token"))
            attacks.append(("empty signature", parts[0] + "." + parts[1] + "."))
            attacks.append(
                (
                    "alg none",
                    try forge(header: ["alg": "none", "kid": header["kid"]!, "typ": "at+jwt"], claims: claims) { _ in
                        Data()
                    }
                ))
            attacks.append(
                (
                    "HS256 keyed with the public key",
                    try forge(header: ["alg": "HS256", "kid": header["kid"]!, "typ": "at+jwt"], claims: claims) {
                        input in
                        Data(
                            HMAC<SHA256>.authenticationCode(for: input, using: SymmetricKey(data: Data(publicKey.utf8)))
                        )
                    }
                ))
            attacks.append(
                (
                    "HS256 keyed with the raw public key",
                    try forge(header: ["alg": "HS256", "kid": header["kid"]!, "typ": "at+jwt"], claims: claims) {
                        input in
                        Data(
                            HMAC<SHA256>.authenticationCode(
                                for: input, using: SymmetricKey(data: Base64URL.decode(publicKey)!)))
                    }
                ))
            let stranger = try MLDSA65.PrivateKey()
            attacks.append(
                (
                    "re-signed with another ML-DSA key",
                    try forge(header: header, claims: claims) { try stranger.signature(for: $0) }
                ))
            let edKey = Curve25519.Signing.PrivateKey()
            attacks.append(
                (
                    "EdDSA, not configured",
                    try forge(header: ["alg": "EdDSA", "kid": header["kid"]!, "typ": "at+jwt"], claims: claims) {
                        try edKey.signature(for: $0)
                    }
                ))
            var unknownKid = header
            unknownKid["kid"] = "not-a-key-we-have"
            attacks.append(
                ("unknown kid", try forge(header: unknownKid, claims: claims) { try stranger.signature(for: $0) }))
            var noKid = header
            noKid["kid"] = nil
            attacks.append(("no kid", try forge(header: noKid, claims: claims) { try stranger.signature(for: $0) }))
            var wrongType = header
            wrongType["typ"] = "JWT"
            attacks.append(
                ("wrong typ", try forge(header: wrongType, claims: claims) { try stranger.signature(for: $0) }))

            // Tokens our own key signed, but wrong in time, audience or issuer.
            let ring = api.services.identity.tokens.keyRing
            let account = try #require(try await api.services.identity.account(id: UUID(uuidString: user.id)!))
            let sessionID = UUID(uuidString: claims["sid"] as! String)!
            let configuration = api.services.settings
            /// A token our own key signs, from an authority that differs from the server's in one way.
            func signed(
                issuer: String = configuration.issuer, audience: String = configuration.tokens.audience,
                lifetime: TimeInterval = 900, at date: Date = Date(), session: UUID = sessionID
            ) async throws -> String {
                let authority = TokenAuthority(
                    issuer: issuer, audience: audience, accessTokenLifetime: lifetime, keyRing: ring)
                return try await authority.issueAccessToken(
                    account: account, sessionID: session, methods: ["pwd"], now: date
                )
                .token
            }
            attacks.append(("expired", try await signed(lifetime: -120)))
            attacks.append(("not yet valid", try await signed(at: Date().addingTimeInterval(300))))
            attacks.append(("wrong audience", try await signed(audience: "some-other-api")))
            attacks.append(("wrong issuer", try await signed(issuer: "https://evil.example")))
            attacks.append(("unknown session", try await signed(session: UUID())))
            // The control: the same helper with nothing changed makes a token the server accepts.
            #expect(try await api.send(.get, "/v1/me", token: try await signed()).status == .ok)

            for (name, token) in attacks {
                let response = try await api.send(.get, "/v1/me", token: token)
                #expect(response.status == .unauthorized, "\(name) was not refused")
                if response.status == .unauthorized {
                    let detail = try response.expectProblem(.unauthorized)
                    #expect(!detail.contains(token), "\(name): the problem echoes the token")
                }
                #expect(
                    try await api.send(.get, "/v1/subjects/\(user.id)/consents", token: token).status == .unauthorized)
            }
            // A bad token is no one: public routes answer as usual, and routes that need a caller say why.
            #expect(try await api.send(.get, "/health", token: "garbage").status == .ok)
            #expect(try await api.send(.get, "/v1/purposes", token: "garbage").status == .ok)
            let problem = try await api.send(.get, "/v1/me", token: "garbage").object()
            #expect(problem["type"] as? String == "urn:qspp:problem:invalid-token")
            #expect(
                try await api.send(.get, "/v1/me", token: nil, headers: [.authorization: "Basic abc"]).status
                    == .unauthorized)
            #expect(
                try await api.send(.get, "/v1/me", token: nil, headers: [.authorization: "Bearer"]).status
                    == .unauthorized)
            // And the genuine token still works after all that, under any spelling of the scheme.
            #expect(try await api.send(.get, "/v1/me", token: user.accessToken).status == .ok)
            #expect(
                try await api.send(
                    .get, "/v1/me", token: nil, headers: [.authorization: "bEaReR \(user.accessToken)"]
                ).status == .ok)
        }
    }

    @Test(arguments: Backend.all)
    func rotatingTheSigningKeyLosesNoSession(backend: Backend) async throws {
        try await withApp(backend) { api in
            let user = try await api.newUser()
            let oldKid = try jwtPart(user.accessToken, 0)["kid"] as? String
            let ring = api.services.identity.tokens.keyRing
            let newKid = try await ring.addKey()
            try await api.reloadKeyRings()
            #expect(try await api.send(.get, "/v1/me", token: user.accessToken).status == .ok)
            let fresh = try await api.newUser()
            #expect(try jwtPart(fresh.accessToken, 0)["kid"] as? String == newKid)
            let kids = try #require(
                try await api.send(.get, "/.well-known/jwks.json", token: nil).object()["keys"] as? [[String: Any]]
            )
            .compactMap { $0["kid"] as? String }
            #expect(kids.contains(newKid) && kids.contains(oldKid ?? "-"))
            let keys = try await api.services.store.identity.signingKeys()
            #expect(keys.first { $0.keyID == oldKid }?.retiredAt != nil)
            #expect(keys.first { $0.keyID == newKid }?.retiredAt == nil)
            // The private key is stored sealed, never in the clear.
            let stored = try #require(keys.first { $0.keyID == newKid })
            #expect(stored.sealedPrivateKey.count > 1100)
        }
    }

    @Test func ed25519CanBeConfiguredInstead() async throws {
        try await withApp(.sqlite, configure: { $0.tokens.algorithm = .ed25519 }) { api in
            let user = try await api.newUser()
            #expect(try jwtPart(user.accessToken, 0)["alg"] as? String == "EdDSA")
            let key = try #require(
                (try await api.send(.get, "/.well-known/jwks.json", token: nil).object()["keys"] as? [[String: Any]])?
                    .first)
            #expect(key["kty"] as? String == "OKP")
            #expect(key["crv"] as? String == "Ed25519")
            #expect(try await api.send(.get, "/v1/me", token: user.accessToken).status == .ok)
            let created = try await api.services.identity.authEvents(userID: nil, limit: 1000)
                .filter { $0.kind == .signingKeyCreated }
            #expect(created.map { $0.details["alg"] } == ["EdDSA"])
        }
    }
}

@Suite("Independent ML-DSA-65 implementation (dilithium-py)")
struct MLDSAInteropTests {
    @Test func ourTokensVerifyThereAndTheirsVerifyHere() async throws {
        try await withApp(.sqlite) { api in
            let user = try await api.newUser()
            let jwks = try await api.send(.get, "/.well-known/jwks.json", token: nil).object()
            let publicKey = try #require((jwks["keys"] as? [[String: Any]])?.first?["pub"] as? String)
            // mldsa_jwt.py exits 1 with an INVALID line only for its verdict; a crash, a missing
            // dilithium-py or a bad command line is exit 2, so no refusal below can pass by accident.
            let genuine = try python("mldsa_jwt.py", ["verify", user.accessToken, publicKey])
            #expect(genuine.status == 0 && genuine.output == "VALID", "\(genuine)")
            let parts = user.accessToken.split(separator: ".").map(String.init)
            let tampered = String(user.accessToken.dropLast(4)) + (user.accessToken.hasSuffix("AAAA") ? "BBBB" : "AAAA")
            var claimsWithAdmin = try jwtPart(user.accessToken, 1)
            claimsWithAdmin["roles"] = ["user", "admin"]
            for (name, token) in [
                ("changed signature", tampered),
                ("changed claims", parts[0] + "." + (try base64URL(json: claimsWithAdmin)) + "." + parts[2]),
            ] {
                let refused = try python("mldsa_jwt.py", ["verify", token, publicKey])
                #expect(refused.status == 1, "\(name): \(refused)")
                #expect(refused.output == "INVALID: signature does not verify", "\(name): \(refused)")
            }

            // dilithium-py derives the key from a seed; we derive ours from the same seed and trust it.
            let seed = Data((0..<32).map { _ in UInt8.random(in: 0...255) })
            let key = try SigningKey(algorithm: .mldsa65, privateSeed: seed)
            let ring = api.services.identity.tokens.keyRing
            _ = try await ring.addKey(key)
            try await ring.load()
            var claims = try jwtPart(user.accessToken, 1)
            let now = Int(Date().timeIntervalSince1970)
            claims["iat"] = now
            claims["nbf"] = now
            claims["exp"] = now + 300
            claims["jti"] = UUID().uuidString
            let json = String(decoding: try JSONSerialization.data(withJSONObject: claims), as: UTF8.self)
            let signed = try python(
                "mldsa_jwt.py", ["sign", seed.map { String(format: "%02x", $0) }.joined(), key.keyID, json])
            #expect(signed.status == 0, "\(signed)")
            #expect(signed.output.split(separator: ".", omittingEmptySubsequences: false).count == 3, "\(signed)")
            let me = try await api.send(.get, "/v1/me", token: signed.output)
            #expect(me.status == .ok)
            #expect(try me.object()["email"] as? String == user.email)
        }
    }
}
