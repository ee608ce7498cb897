import Foundation
import HTTPTypes
import HummingbirdTesting
import Identity
import QSPPTestSupport
import Testing

/// Passkeys through the real routes, with software authenticators that are not ours: soft-webauthn,
/// and authenticator data signed by the cryptography package or dilithium-py (ML-DSA-65).
@Suite("Passkey API")
struct PasskeyAPITests {
    @Test(arguments: Backend.all)
    func everyAlgorithmRegistersAndSignsInWithoutAPassword(backend: Backend) async throws {
        try await withApp(backend) { api in
            for (alg, name) in [(-7, "ES256"), (-8, "EdDSA"), (-257, "RS256"), (-49, "ML-DSA-65")] {
                let user = try await api.newUser()
                let (authenticator, added) = try await api.addPasskey(
                    user, name: "Key \(name)", flags: ["--alg", "\(alg)", "--attestation", "packed"])
                #expect(added.status == .created, "\(name)")
                let passkey = try added.object()
                #expect(passkey["algorithm"] as? String == name)
                #expect(passkey["attestation"] as? String == "self")
                #expect(passkey["name"] as? String == "Key \(name)")
                _ = try await api.mailed(to: user.email, subject: "A passkey was added to your QSPP account")

                let signedIn = try await api.passkeySignIn(authenticator)
                #expect(signedIn.status == .ok, "\(name)")
                let body = try signedIn.object()
                let token = try #require(body["accessToken"] as? String)
                #expect(try jwtPart(token, 1)["amr"] as? [String] == ["hwk", "user"])
                #expect((body["user"] as? [String: Any])?["id"] as? String == user.id)
                let listed = try await api.send(.get, "/v1/me/passkeys", token: token).object()
                let passkeys = try #require(listed["passkeys"] as? [[String: Any]])
                #expect(passkeys.count == 1 && passkeys[0]["lastUsedAt"] is String)
                #expect(passkeys[0]["publicKey"] == nil)
            }
        }
    }

    @Test(arguments: Backend.all)
    func aSyncedPasskeyIsASoftwareKey(backend: Backend) async throws {
        try await withApp(backend) { api in
            let user = try await api.newUser()
            let (authenticator, added) = try await api.addPasskey(user, flags: ["--backup"])
            #expect(try added.object()["synced"] as? Bool == true)
            #expect(try added.object()["attestation"] as? String == "none")
            let token = try #require(try await api.passkeySignIn(authenticator).object()["accessToken"] as? String)
            #expect(try jwtPart(token, 1)["amr"] as? [String] == ["swk", "user"])
        }
    }

    @Test(arguments: Backend.all)
    func softWebAuthnIsASecondFactorButNotAPasswordlessSignIn(backend: Backend) async throws {
        try await withApp(backend) { api in
            let user = try await api.newUser()
            let (authenticator, added) = try await api.addPasskey(user, flags: ["--soft"])
            #expect(added.status == .created)
            // soft-webauthn tests presence, not the person: not enough to sign in alone.
            let alone = try await api.passkeySignIn(authenticator)
            #expect(try alone.expectProblem(.badRequest).contains("not verified"))

            let secret = try await enableTOTP(api, user)
            _ = secret
            let step1 = try await api.login(user.email).object()
            #expect(step1["passkeys"] as? Bool == true)
            let mfaToken = try #require(step1["mfaToken"] as? String)
            let options = try await api.send(
                .post, "/v1/auth/mfa/passkey/options", json: #"{"mfaToken":"\#(mfaToken)"}"#, token: nil)
            #expect(options.status == .ok)
            let offered = try options.object()
            #expect((offered["allowCredentials"] as? [[String: Any]])?.count == 1)
            let credential = try authenticator.answer("get", Data(buffer: options.body))
            let completed = try await api.postPasskey(
                credential: credential, path: "/v1/auth/mfa", extra: ["mfaToken": mfaToken])
            #expect(completed.status == .ok)
            let token = try #require(try completed.object()["accessToken"] as? String)
            #expect(try jwtPart(token, 1)["amr"] as? [String] == ["pwd", "hwk"])

            // The MFA challenge that made a session is spent; so is the passkey challenge.
            try await api.postPasskey(credential: credential, path: "/v1/auth/mfa", extra: ["mfaToken": mfaToken])
                .expectProblem(.badRequest)
            // Neither a code and a passkey together, nor neither.
            try await api.send(.post, "/v1/auth/mfa", json: #"{"mfaToken":"\#(mfaToken)"}"#, token: nil)
                .expectProblem(.badRequest)
        }
    }

    @Test(arguments: Backend.all)
    func badAnswersAreRefusedAndChangeNothing(backend: Backend) async throws {
        try await withApp(backend) { api in
            let user = try await api.newUser()
            let (authenticator, added) = try await api.addPasskey(user)
            #expect(added.status == .created)
            let id = try #require(try added.object()["id"] as? String)
            let signedIn = try await api.passkeySignIn(authenticator)
            #expect(signedIn.status == .ok)

            // A replayed answer: its challenge was used up.
            let options = try await api.send(.post, "/v1/auth/passkey/options", token: nil)
            let answer = try authenticator.answer("get", Data(buffer: options.body))
            #expect(try await api.postPasskey(credential: answer).status == .ok)
            #expect(
                try await api.postPasskey(credential: answer).expectProblem(.badRequest).contains("answered already"))

            // The wrong origin, the wrong RP ID, a counter that goes back, another account's handle.
            let phishing = try SoftwareAuthenticator(origin: "https://qspp.example.evil")
            try FileManager.default.copyItem(at: authenticator.state, to: phishing.state)
            #expect(try await api.passkeySignIn(phishing).expectProblem(.badRequest).contains("origin"))
            let otherRP = try await api.send(.post, "/v1/auth/passkey/options", token: nil).object()
            var wrongRP = otherRP
            wrongRP["rpId"] = "evil.example"
            let forged = try authenticator.answer("get", try JSONSerialization.data(withJSONObject: wrongRP))
            #expect(try await api.postPasskey(credential: forged).expectProblem(.badRequest).contains("RP ID"))
            #expect(
                try await api.passkeySignIn(authenticator, flags: ["--counter", "1"]).expectProblem(.badRequest)
                    .contains("counter"))
            let stranger = UUID().uuidString.lowercased()
            let handle = Data(stranger.utf8).base64EncodedString()
            #expect(
                try await api.passkeySignIn(authenticator, flags: ["--user-handle", handle]).expectProblem(
                    .badRequest
                ).contains("user handle"))
            // No user handle, where no credential was named in advance.
            let anonymous = try await api.passkeySignIn(authenticator) { credential in
                var credential = credential
                var response = credential["response"] as? [String: Any] ?? [:]
                response["userHandle"] = nil
                credential["response"] = response
                return credential
            }
            #expect(try anonymous.expectProblem(.badRequest).contains("user handle"))
            // A signature over something else.
            let tampered = try await api.passkeySignIn(authenticator) { credential in
                var credential = credential
                var response = credential["response"] as? [String: Any] ?? [:]
                response["signature"] = (response["signature"] as? String).map { "AAAA" + $0.dropFirst(4) }
                credential["response"] = response
                return credential
            }
            try tampered.expectProblem(.badRequest)
            // Truncated or non-base64 fields.
            for broken in ["authenticatorData", "clientDataJSON"] {
                let refused = try await api.passkeySignIn(authenticator) { credential in
                    var credential = credential
                    var response = credential["response"] as? [String: Any] ?? [:]
                    response[broken] = try? truncated(response[broken] as? String ?? "", dropping: 12)
                    credential["response"] = response
                    return credential
                }
                try refused.expectProblem(.badRequest)
            }
            try await api.postPasskey(credential: ["id": "!", "rawId": "!", "type": "public-key", "response": [:]])
                .expectProblem(.badRequest)

            // Nothing changed: the passkey is there and still signs in.
            let token = try #require(try signedIn.object()["accessToken"] as? String)
            let listed = try await api.send(.get, "/v1/me/passkeys", token: token).object()
            #expect((listed["passkeys"] as? [[String: Any]])?.map { $0["id"] as? String } == [id])
            #expect(try await api.passkeySignIn(authenticator).status == .ok)
        }
    }

    @Test(arguments: Backend.all)
    func registrationIsCheckedAndNeedsAFreshSignIn(backend: Backend) async throws {
        try await withApp(backend) { api in
            let user = try await api.newUser()
            let authenticator = try SoftwareAuthenticator(origin: api.passkeyOrigin)
            let options = try await api.send(.post, "/v1/me/passkeys/options", token: user.accessToken)
            let created = try options.object()
            #expect(created["attestation"] as? String == "none")
            #expect((created["pubKeyCredParams"] as? [[String: Any]])?.first?["alg"] as? Int == -49)
            #expect(((created["authenticatorSelection"] as? [String: Any])?["residentKey"] as? String) == "required")
            #expect(options.headers[.cacheControl] == "no-store")
            let credential = try authenticator.answer("create", Data(buffer: options.body))
            func register(_ credential: [String: Any]) async throws -> TestResponse {
                let body = try JSONSerialization.data(withJSONObject: ["credential": credential])
                return try await api.send(
                    .post, "/v1/me/passkeys", json: String(decoding: body, as: UTF8.self), token: user.accessToken)
            }
            // A truncated attestation object.
            var shortened = credential
            var response = credential["response"] as? [String: Any] ?? [:]
            let attestation = response["attestationObject"] as? String ?? ""
            response["attestationObject"] = try truncated(attestation, dropping: 8)
            shortened["response"] = response
            try await register(shortened).expectProblem(.badRequest)
            // Its challenge was spent by the refused attempt.
            try await register(credential).expectProblem(.badRequest)

            // Another user's challenge is not this user's.
            let other = try await api.newUser()
            let theirs = try await api.send(.post, "/v1/me/passkeys/options", token: other.accessToken)
            let answer = try authenticator.answer("create", Data(buffer: theirs.body))
            try await register(answer).expectProblem(.badRequest)

            // A key of an algorithm that was not offered (ES384).
            let unsupported = try await api.send(.post, "/v1/me/passkeys/options", token: user.accessToken)
            let es384 = try authenticator.answer("create", Data(buffer: unsupported.body), ["--alg", "-35", "--force"])
            #expect(try await register(es384).expectProblem(.badRequest).lowercased().contains("unsupported algorithm"))

            // A packed self-attestation whose signature does not verify.
            let bad = try await api.send(.post, "/v1/me/passkeys/options", token: user.accessToken)
            var forged = try authenticator.answer("create", Data(buffer: bad.body), ["--attestation", "packed"])
            var forgedResponse = forged["response"] as? [String: Any] ?? [:]
            forgedResponse["clientDataJSON"] = base64URLText(
                #"{"type":"webauthn.create","challenge":"\#(try #require(try bad.object()["challenge"] as? String))","origin":"\#(api.passkeyOrigin)","crossOrigin":false}"#
            )
            forged["response"] = forgedResponse
            #expect(try await register(forged).expectProblem(.badRequest).contains("attestation"))

            let listed = try await api.send(.get, "/v1/me/passkeys", token: user.accessToken).object()
            #expect((listed["passkeys"] as? [[String: Any]])?.isEmpty == true)
        }
    }

    @Test(arguments: Backend.all)
    func peopleRenameAndRemoveTheirOwnPasskeysOnly(backend: Backend) async throws {
        try await withApp(backend) { api in
            let user = try await api.newUser()
            let (authenticator, added) = try await api.addPasskey(user)
            let id = try #require(try added.object()["id"] as? String)
            let stranger = try await api.newUser()
            try await api.send(
                .patch, "/v1/me/passkeys/\(id)", json: #"{"name":"Mine now"}"#, token: stranger.accessToken
            ).expectProblem(.notFound)
            try await api.send(.delete, "/v1/me/passkeys/\(id)", token: stranger.accessToken).expectProblem(.notFound)
            try await api.send(
                .patch, "/v1/me/passkeys/\(id)", json: #"{"name":"bad\u0007name"}"#, token: user.accessToken
            ).expectProblem(.badRequest)
            #expect(
                try await api.send(
                    .patch, "/v1/me/passkeys/\(id)", json: #"{"name":"Phone"}"#, token: user.accessToken
                ).status == .noContent)
            let listed = try await api.send(.get, "/v1/me/passkeys", token: user.accessToken).object()
            #expect((listed["passkeys"] as? [[String: Any]])?.first?["name"] as? String == "Phone")

            #expect(try await api.send(.delete, "/v1/me/passkeys/\(id)", token: user.accessToken).status == .noContent)
            _ = try await api.mailed(to: user.email, subject: "A passkey was removed from your QSPP account")
            try await api.send(.delete, "/v1/me/passkeys/\(id)", token: user.accessToken).expectProblem(.notFound)
            try await api.passkeySignIn(authenticator).expectProblem(.badRequest)
            try await api.send(.get, "/v1/me/passkeys", token: nil).expectProblem(.unauthorized)
        }
    }

    @Test(arguments: Backend.all)
    func aPasswordlessAccountKeepsItsLastWayIn(backend: Backend) async throws {
        try await withApp(backend) { api in
            let user = try await api.newUser()
            // Only a session begun with a passkey shows that one can sign in alone.
            try await api.send(.delete, "/v1/me/password", token: user.accessToken).expectProblem(.forbidden)
            let (authenticator, _) = try await api.addPasskey(user)
            try await api.send(.delete, "/v1/me/password", token: user.accessToken).expectProblem(.forbidden)
            let signedIn = try await api.passkeySignIn(authenticator)
            #expect(signedIn.status == .ok)
            let token = try #require(try signedIn.object()["accessToken"] as? String)
            #expect(try await api.send(.delete, "/v1/me/password", token: token).status == .noContent)
            #expect(try await api.send(.get, "/v1/me", token: token).object()["hasPassword"] as? Bool == false)
            _ = try await api.mailed(to: user.email, subject: "Your QSPP password was changed")
            // The old password no longer signs in, and takes as long to refuse as any wrong one.
            try await api.login(user.email).expectProblem(.unauthorized)

            // The last passkey stays; with a second, the first may go.
            let id = try #require(
                (try await api.send(.get, "/v1/me/passkeys", token: token).object()["passkeys"] as? [[String: Any]])?
                    .first?["id"] as? String)
            #expect(
                try await api.send(.delete, "/v1/me/passkeys/\(id)", token: token).expectProblem(.conflict)
                    .contains("last way to sign in"))
            let second = TestUser(
                id: user.id, email: user.email, password: user.password, accessToken: token, refreshToken: "")
            let (spare, added) = try await api.addPasskey(second, name: "Spare")
            #expect(added.status == .created)
            #expect(try await api.send(.delete, "/v1/me/passkeys/\(id)", token: token).status == .noContent)
            #expect(try await api.passkeySignIn(spare).status == .ok)

            // A reset link sets a password again.
            #expect(
                try await api.send(
                    .post, "/v1/auth/password/forgot", json: #"{"email":"\#(user.email)"}"#, token: nil
                ).status == .accepted)
            let reset = try await api.mailed(to: user.email, subject: "Reset your QSPP password")
            let resetToken = try #require(
                reset.parts["text/plain"]?.firstMatch(of: /reset-password\?token=([A-Za-z0-9_-]+)/)
            ).1
            #expect(
                try await api.send(
                    .post, "/v1/auth/password/reset",
                    json: #"{"token":"\#(resetToken)","newPassword":"\#(testPassword) again"}"#, token: nil
                ).status == .ok)
            #expect(try await api.login(user.email, password: testPassword + " again").status == .ok)
        }
    }

    private func enableTOTP(_ api: API, _ user: TestUser) async throws -> String {
        let setup = try await api.send(.post, "/v1/me/mfa/totp", token: user.accessToken).object()
        let secret = try #require(setup["secret"] as? String)
        let confirmed = try await api.send(
            .post, "/v1/me/mfa/totp/confirm", json: #"{"code":"\#(try totpCode(secret))"}"#, token: user.accessToken)
        #expect(confirmed.status == .ok)
        return secret
    }
}

func base64URLText(_ text: String) -> String { base64URL(Data(text.utf8)) }

func base64URL(_ data: Data) -> String {
    data.base64EncodedString().replacingOccurrences(of: "+", with: "-")
        .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
}

/// The base64url text of the bytes `text` encodes, less the last `count`: a truncated message, still
/// well-formed base64url, so that the parser behind the decoding is what refuses it.
func truncated(_ text: String, dropping count: Int) throws -> String {
    var padded = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
    padded += String(repeating: "=", count: (4 - padded.count % 4) % 4)
    return base64URL(try #require(Data(base64Encoded: padded)).dropLast(count))
}
