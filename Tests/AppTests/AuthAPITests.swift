import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Identity
import PQCrypto
import QSPPTestSupport
import Testing

@Suite("Auth API")
struct AuthAPITests {
    @Test(arguments: Backend.all)
    func registrationTellsNobodyWhetherAnEmailIsTakenAndConfirmsItByMail(backend: Backend) async throws {
        try await withApp(backend) { api in
            let email = "New.User-\(UUID().uuidString.prefix(8))@Example.COM"
            let created = try await api.register("  \(email) ")
            #expect(created.status == .accepted)
            let taken = try await api.register(email.lowercased(), password: "another long passphrase 9")
            #expect(taken.status == .accepted)
            var first = try created.object()
            var second = try taken.object()
            first["requestId"] = nil
            second["requestId"] = nil
            #expect(NSDictionary(dictionary: first) == NSDictionary(dictionary: second))
            #expect(first["userId"] == nil && first["email"] == nil)
            // The owner hears of the second attempt; its password did not replace theirs.
            let normalized = email.lowercased()
            let notice = try await api.mailed(to: normalized, subject: "Someone tried to register")
            #expect(notice.parts["text/plain"]?.contains("/forgot-password") == true)
            #expect(try await api.login(normalized, password: "another long passphrase 9").status == .unauthorized)

            // Unconfirmed, the account signs in but may not export; the mailed link confirms it.
            let login = try await api.login(normalized)
            #expect(login.status == .ok)
            let token = try #require(try login.object()["accessToken"] as? String)
            #expect(try await api.send(.get, "/v1/me", token: token).object()["emailVerified"] as? Bool == false)
            #expect(
                try await api.send(.get, "/v1/me/export", token: token).expectProblem(.forbidden).contains("Confirm"))
            try await api.confirmEmail(of: normalized)
            #expect(try await api.send(.get, "/v1/me", token: token).object()["emailVerified"] as? Bool == true)
            #expect(try await api.send(.get, "/v1/me/export", token: token).status == .ok)
            try await api.send(.post, "/v1/me/email/verification", token: token).expectProblem(.conflict)
            for bad in ["forged", String(repeating: "x", count: 300)] {
                try await api.send(.post, "/v1/auth/email/verify", json: #"{"token":"\#(bad)"}"#, token: nil)
                    .expectProblem(.badRequest)
            }

            try await api.register("x\(email)", password: "short").expectProblem(.badRequest)
            try await api.register("x\(email)", password: "1qaz2wsx3edc").expectProblem(.badRequest)
            try await api.register("not-an-email").expectProblem(.badRequest)
            try await api.send(.post, "/v1/auth/register", json: "{", token: nil).expectProblem(.badRequest)
            try await api.send(.post, "/v1/auth/register", json: #"{"email":1}"#, token: nil).expectProblem(.badRequest)
            let huge = String(repeating: "a", count: 70_000)
            try await api.send(
                .post, "/v1/auth/register", json: #"{"email":"a@b.co","password":"\#(huge)"}"#, token: nil
            ).expectProblem(.contentTooLarge)
        }
    }

    @Test(arguments: Backend.all)
    func unknownUserAndWrongPasswordGetTheSameAnswer(backend: Backend) async throws {
        try await withApp(backend) { api in
            let user = try await api.newUser()
            let wrong = try await api.login(user.email, password: "wrong password here")
            let unknown = try await api.login("nobody-\(UUID())@example.com", password: "wrong password here")
            #expect(wrong.status == .unauthorized)
            #expect(unknown.status == wrong.status)
            var wrongBody = try wrong.object()
            var unknownBody = try unknown.object()
            wrongBody["requestId"] = nil
            unknownBody["requestId"] = nil
            #expect(NSDictionary(dictionary: wrongBody) == NSDictionary(dictionary: unknownBody))
            #expect(wrong.headers[.contentType] == unknown.headers[.contentType])
            #expect(wrong.headers[.setCookie] == nil && unknown.headers[.setCookie] == nil)
        }
    }

    @Test(arguments: Backend.all)
    func accessTokensAreMLDSA65JWTsWithTheSpecifiedClaims(backend: Backend) async throws {
        try await withApp(backend) { api in
            let user = try await api.newUser()
            let header = try jwtPart(user.accessToken, 0)
            #expect(header["alg"] as? String == "ML-DSA-65")
            #expect(header["typ"] as? String == "at+jwt")
            let claims = try jwtPart(user.accessToken, 1)
            #expect(claims["sub"] as? String == user.id)
            #expect(claims["iss"] as? String == api.services.settings.issuer)
            #expect(claims["aud"] as? String == "qspp-api" || (claims["aud"] as? [String]) == ["qspp-api"])
            let issuedAt = try #require(claims["iat"] as? Double)
            #expect(claims["exp"] as? Double == issuedAt + 900)
            #expect(claims["nbf"] as? Double == issuedAt)
            #expect(claims["jti"] is String)
            #expect(UUID(uuidString: claims["sid"] as? String ?? "") != nil)
            #expect(claims["roles"] as? [String] == ["user"])
            #expect(claims["amr"] as? [String] == ["pwd"])

            let jwks = try await api.send(.get, "/.well-known/jwks.json", token: nil).object()
            let keys = try #require(jwks["keys"] as? [[String: Any]])
            let key = try #require(keys.first { $0["kid"] as? String == header["kid"] as? String })
            #expect(key["kty"] as? String == "AKP")
            #expect(key["alg"] as? String == "ML-DSA-65")
            #expect(Base64URL.decode(key["pub"] as? String ?? "")?.count == 1952)
            #expect(key["priv"] == nil)

            let discovery = try await api.send(.get, "/.well-known/openid-configuration", token: nil).object()
            #expect(discovery["issuer"] as? String == api.services.settings.issuer)
            #expect((discovery["jwks_uri"] as? String)?.hasSuffix("/.well-known/jwks.json") == true)
            // ML-DSA-65 first, as the default; the others for clients that ask for them.
            #expect(discovery["id_token_signing_alg_values_supported"] as? [String] == ["ML-DSA-65", "EdDSA", "ES256"])

            let me = try await api.send(.get, "/v1/me", token: user.accessToken)
            #expect(me.status == .ok)
            #expect(try me.object()["email"] as? String == user.email)
        }
    }

    @Test(arguments: Backend.all)
    func loginSetsAStrictRefreshCookieAndRememberMeSurvivesRotation(backend: Backend) async throws {
        try await withApp(backend) { api in
            let user = try await api.newUser()
            let login = try await api.login(user.email, rememberMe: true)
            let cookie = try #require(login.headers[.setCookie])
            for attribute in ["refreshToken=", "HttpOnly", "Secure", "SameSite=Strict", "Path=/"] {
                #expect(cookie.contains(attribute))
            }
            let refreshToken = try #require(try login.object()["refreshToken"] as? String)
            #expect(Base64URL.decode(refreshToken)?.count == 32)
            #expect(cookie.contains("Max-Age=25919") || cookie.contains("Max-Age=2592000"))

            // Refresh from the cookie alone, as a browser does.
            let rotated = try await api.send(
                .post, "/v1/auth/refresh", token: nil, headers: [.cookie: "refreshToken=\(refreshToken)"])
            #expect(rotated.status == .ok)
            let rotatedCookie = try #require(rotated.headers[.setCookie])
            #expect(rotatedCookie.contains("Max-Age=25919") || rotatedCookie.contains("Max-Age=2592000"))
            let next = try #require(try rotated.object()["refreshToken"] as? String)
            #expect(next != refreshToken)

            // A token in the body wins over whatever cookie the client also carries.
            let bodyWins = try await api.send(
                .post, "/v1/auth/refresh", json: #"{"refreshToken":"\#(next)"}"#, token: nil,
                headers: [.cookie: "refreshToken=stale-or-garbage"])
            #expect(bodyWins.status == .ok)

            // Without rememberMe the refresh token lives seven days.
            let short = try await api.login(user.email)
            #expect(
                short.headers[.setCookie]?.contains("Max-Age=60479") == true
                    || short.headers[.setCookie]?.contains("Max-Age=604800") == true)
        }
    }

    @Test(arguments: Backend.all)
    func aReplayedRefreshTokenEndsTheSessionAfterTheGraceWindow(backend: Backend) async throws {
        try await withApp(backend) { api in
            let user = try await api.newUser()
            let first = try await api.refresh(user.refreshToken)
            #expect(first.status == .ok)
            // Two tabs racing one token: a second use within the grace window still works.
            let racing = try await api.refresh(user.refreshToken)
            #expect(racing.status == .ok)
            let racingToken = try #require(try racing.object()["accessToken"] as? String)
            #expect(try await api.send(.get, "/v1/me", token: racingToken).status == .ok)
            // It gets the same successor, not a second chain that reuse detection would never see.
            #expect(try racing.object()["refreshToken"] as? String == first.object()["refreshToken"] as? String)
            // Past the allowed reuse count the token is treated as stolen: the whole family goes.
            _ = try await api.refresh(user.refreshToken)
            try await api.refresh(user.refreshToken).expectProblem(.unauthorized)
            let successor = try #require(try first.object()["refreshToken"] as? String)
            try await api.refresh(successor).expectProblem(.unauthorized)
            try await api.send(.get, "/v1/me", token: racingToken).expectProblem(.unauthorized)
            try await api.send(.get, "/v1/me", token: user.accessToken).expectProblem(.unauthorized)

            let events = try await api.services.identity.authEvents(userID: UUID(uuidString: user.id))
            #expect(events.contains { $0.kind == .refreshReuseDetected })
            #expect(events.contains { $0.kind == .refreshReuseInGrace })
        }
    }

    @Test(arguments: Backend.all)
    func refreshTokensAreRefusedWhenUnknownOrMalformed(backend: Backend) async throws {
        try await withApp(backend) { api in
            try await api.refresh("not-a-token").expectProblem(.unauthorized)
            try await api.send(.post, "/v1/auth/refresh", token: nil).expectProblem(.badRequest)
            try await api.send(.post, "/v1/auth/refresh", json: "[]", token: nil).expectProblem(.badRequest)
        }
    }

    @Test(arguments: Backend.all)
    func logoutEndsThisSessionOrAllOfThem(backend: Backend) async throws {
        try await withApp(backend) { api in
            let user = try await api.newUser()
            let second = try await api.login(user.email).object()
            let secondToken = try #require(second["accessToken"] as? String)
            let logout = try await api.send(.post, "/v1/auth/logout", token: user.accessToken)
            #expect(logout.status == .noContent)
            #expect(logout.headers[.setCookie]?.contains("Max-Age=0") == true)
            try await api.send(.get, "/v1/me", token: user.accessToken).expectProblem(.unauthorized)
            try await api.refresh(user.refreshToken).expectProblem(.unauthorized)
            #expect(try await api.send(.get, "/v1/me", token: secondToken).status == .ok)

            let third = try await api.login(user.email).object()
            let thirdToken = try #require(third["accessToken"] as? String)
            #expect(
                try await api.send(.post, "/v1/auth/logout", json: #"{"everywhere":true}"#, token: thirdToken).status
                    == .noContent)
            try await api.send(.get, "/v1/me", token: secondToken).expectProblem(.unauthorized)
            try await api.send(.get, "/v1/me", token: thirdToken).expectProblem(.unauthorized)
            try await api.send(.post, "/v1/auth/logout", token: nil).expectProblem(.unauthorized)
        }
    }

    @Test(arguments: Backend.all)
    func changingThePasswordEndsOtherSessionsAndDeletingTheAccountEndsAll(backend: Backend) async throws {
        try await withApp(backend) { api in
            let user = try await api.newUser()
            let other = try #require(try await api.login(user.email).object()["accessToken"] as? String)
            let newPassword = "a brand new passphrase"
            try await api.send(
                .post, "/v1/me/password",
                json: #"{"currentPassword":"wrong one here!","newPassword":"\#(newPassword)"}"#,
                token: user.accessToken
            ).expectProblem(.unauthorized)
            try await api.send(
                .post, "/v1/me/password", json: #"{"currentPassword":"\#(user.password)","newPassword":"short"}"#,
                token: user.accessToken
            ).expectProblem(.badRequest)
            let changed = try await api.send(
                .post, "/v1/me/password",
                json: #"{"currentPassword":"\#(user.password)","newPassword":"\#(newPassword)"}"#,
                token: user.accessToken)
            #expect(changed.status == .noContent)
            try await api.send(.get, "/v1/me", token: other).expectProblem(.unauthorized)
            #expect(try await api.send(.get, "/v1/me", token: user.accessToken).status == .ok)
            try await api.login(user.email).expectProblem(.unauthorized)
            #expect(try await api.login(user.email, password: newPassword).status == .ok)

            try await api.send(.delete, "/v1/me", json: #"{"password":"nope nope nope"}"#, token: user.accessToken)
                .expectProblem(.unauthorized)
            let deleted = try await api.send(
                .delete, "/v1/me", json: #"{"password":"\#(newPassword)"}"#, token: user.accessToken)
            #expect(deleted.status == .noContent)
            try await api.send(.get, "/v1/me", token: user.accessToken).expectProblem(.unauthorized)
            try await api.login(user.email, password: newPassword).expectProblem(.unauthorized)
            // The email is free again: registering makes a new account, which the old password signs into.
            #expect(try await api.register(user.email).status == .accepted)
            #expect(try await api.login(user.email).status == .ok)
        }
    }

    @Test(arguments: Backend.all)
    func sessionsAreListedAndRevocableByTheirOwnerOrAnAdmin(backend: Backend) async throws {
        try await withApp(backend) { api in
            let user = try await api.newUser()
            let stranger = try await api.newUser()
            _ = try await api.login(user.email)
            let listing = try await api.send(
                .get, "/v1/me/sessions", token: user.accessToken, headers: [.userAgent: "QSPP-Test/1.0"])
            let sessions = try #require(try listing.object()["sessions"] as? [[String: Any]])
            #expect(sessions.count == 2)
            #expect(sessions.filter { $0["current"] as? Bool == true }.count == 1)
            for session in sessions {
                for field in ["id", "createdAt", "lastUsedAt", "current", "amr"] { #expect(session[field] != nil) }
            }
            let otherID = try #require(sessions.first { $0["current"] as? Bool == false }?["id"] as? String)
            // Somebody else's session answers like a missing one.
            try await api.send(.delete, "/v1/me/sessions/\(otherID)", token: stranger.accessToken)
                .expectProblem(.notFound)
            #expect(
                try await api.send(.delete, "/v1/me/sessions/\(otherID)", token: user.accessToken).status == .noContent)
            try await api.send(.delete, "/v1/me/sessions/\(otherID)", token: user.accessToken).expectProblem(.notFound)

            try await api.send(.delete, "/v1/users/\(user.id)/sessions", token: stranger.accessToken)
                .expectProblem(.forbidden)
            let revoked = try await api.send(.delete, "/v1/users/\(user.id)/sessions")
            #expect(try revoked.object()["revoked"] as? Int == 1)
            try await api.send(.get, "/v1/me", token: user.accessToken).expectProblem(.unauthorized)
            #expect(try await api.send(.get, "/v1/me", token: stranger.accessToken).status == .ok)
        }
    }

    @Test(arguments: Backend.all)
    func raisingTheArgon2ParametersRehashesAtTheNextLogin(backend: Backend) async throws {
        try await withApp(backend, configure: { $0.signIn.argon2.iterations = 3 }) { api in
            // An account whose hash predates the raise (t=2).
            let email = try EmailAddress("old-hash-\(UUID().uuidString.lowercased())@example.com")
            let oldHash = try await PasswordHasher().hash(testPassword)
            let account = Account(id: UUID(), email: email, passwordHash: oldHash, roles: [.user], createdAt: Date())
            try await api.services.store.identity.insertAccount(account)
            #expect(try await api.login(email.normalized).status == .ok)
            let stored = try #require(try await api.services.store.identity.account(id: account.id))
            #expect(stored.passwordHash.contains("m=19456,t=3,p=1"))
            #expect(try await api.login(email.normalized).status == .ok)
            let events = try await api.services.identity.authEvents(userID: account.id)
            #expect(events.filter { $0.kind == .passwordRehashed }.count == 1)
        }
    }

    @Test(arguments: Backend.all)
    func malformedLoginBodiesGetProblems(backend: Backend) async throws {
        try await withApp(backend) { api in
            for body in ["", "{", "[]", #"{"email":"a@b.co"}"#, #"{"email":1,"password":"x"}"#, #"{"password":null}"#] {
                let response = try await api.send(.post, "/v1/auth/login", json: body.isEmpty ? nil : body, token: nil)
                try response.expectProblem(.badRequest)
            }
            try await api.send(
                .post, "/v1/auth/login", json: #"{"email":"a@b.co","password":"x"}"#, token: nil,
                headers: [.contentType: "text/plain"]
            ).expectProblem(.unsupportedMediaType)
            try await api.send(.post, "/v1/auth/mfa", json: #"{"mfaToken":"not.a.jwt","code":"123456"}"#, token: nil)
                .expectProblem(.unauthorized)
        }
    }
}
