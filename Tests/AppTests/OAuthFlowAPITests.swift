import Foundation
import HTTPTypes
import HummingbirdTesting
import Identity
import PQCrypto
import QSPPTestSupport
import Testing

@testable import App

/// The authorization code flow, the token endpoint and what a client's tokens may do, through the real
/// router on both backends (and, with `QSPP_TEST_TOPOLOGY=split`, through the gateway).
@Suite("OAuth and OpenID Connect flows")
struct OAuthFlowAPITests {
    @Test(arguments: Backend.all)
    func codeFlowWithPKCEIssuesVerifiableTokens(backend: Backend) async throws {
        try await withApp(backend) { api in
            let (party, user, browser) = try await api.personSignedInWith(RelyingParty.webApp)

            let consent = try await browser.get(party.authorizePath())
            #expect(consent.status == .ok)
            #expect(consent.html.contains("Allow Shop to use your account?"))
            #expect(consent.html.contains("See your email address"))
            let csp = try #require(consent.headers[.contentSecurityPolicy])
            #expect(csp.contains("form-action 'self' https://shop.example") && csp.contains("frame-ancestors 'none'"))

            let answered = try await browser.authorize(party.authorizePath())
            #expect(answered.status == .seeOther)
            let location = try #require(answered.headers[.location])
            #expect(location.hasPrefix("https://shop.example/callback?code="))
            let answer = RelyingParty.answer(location)
            #expect(answer["state"] == "state-1")
            #expect(answer["iss"] == api.services.settings.issuer, "RFC 9207 mix-up defence")
            let code = try #require(answer["code"])

            let exchanged = try await party.exchange(api, code: code)
            #expect(exchanged.status == .ok, "\(String(buffer: exchanged.body))")
            #expect(exchanged.headers[.cacheControl] == "no-store")
            let tokens = try exchanged.object()
            #expect(tokens["token_type"] as? String == "Bearer")
            #expect(tokens["scope"] as? String == "email offline_access openid")
            let accessToken = try #require(tokens["access_token"] as? String)
            let refreshToken = try #require(tokens["refresh_token"] as? String)
            let idToken = try #require(tokens["id_token"] as? String)

            // The ID token verifies against the published JWKS, as any relying party checks it.
            let jwks = Data(try await api.send(.get, "/.well-known/jwks.json", token: nil).body.readableBytesView)
            let verified = try OfflineJWSVerifier(jwks: jwks).verify(idToken, type: "JWT")
            let claims = try #require(try JSONSerialization.jsonObject(with: verified.payload) as? [String: Any])
            #expect(claims["iss"] as? String == api.services.settings.issuer)
            #expect(claims["aud"] as? String == party.id || (claims["aud"] as? [String]) == [party.id])
            #expect(claims["sub"] as? String == user.id && claims["nonce"] as? String == "nonce-1")
            #expect(claims["email"] as? String == user.email && claims["azp"] as? String == party.id)
            #expect(claims["auth_time"] is Int && (claims["amr"] as? [String]) == ["pwd"])
            let access = try jwtPart(accessToken, 1)
            #expect(try jwtPart(accessToken, 0)["typ"] as? String == "at+jwt")
            #expect(
                access["client_id"] as? String == party.id
                    && access["scope"] as? String == "email offline_access openid")

            let info = try await api.send(.get, "/userinfo", token: accessToken)
            #expect(info.status == .ok)
            let userInfo = try info.object()
            #expect(userInfo["sub"] as? String == user.id && userInfo["email"] as? String == user.email)
            #expect(userInfo["name"] == nil, "profile was not asked for")

            // The client's token reads what consent:read opens, and nothing it does not.
            #expect(try await api.send(.get, "/v1/me", token: accessToken).status == .forbidden)
            let signOut = try await api.send(
                .post, "/v1/auth/logout", json: #"{"everywhere":true}"#, token: accessToken)
            #expect(signOut.status == .forbidden)
            #expect(try await api.send(.get, "/v1/me", token: user.accessToken).status == .ok)
            let own = try await api.send(.get, "/v1/subjects/\(user.id)/consents", token: accessToken)
            #expect(own.status == .forbidden, "consent:read was registered but not asked for")

            // Rotation, then reuse of the old refresh token revokes the whole family.
            let refreshed = try await party.post(
                api, "/token", ["grant_type": "refresh_token", "refresh_token": refreshToken])
            #expect(refreshed.status == .ok)
            let next = try #require(try refreshed.object()["refresh_token"] as? String)
            #expect(next != refreshToken)
            try await Task.sleep(for: .milliseconds(10))
            var reused: TestResponse?
            for _ in 0..<20 {
                // Inside the grace window a retry gets the same successor; past its limit, reuse ends it.
                let attempt = try await party.post(
                    api, "/token", ["grant_type": "refresh_token", "refresh_token": refreshToken])
                if attempt.status != .ok {
                    reused = attempt
                    break
                }
            }
            let refusal = try #require(reused)
            #expect(try refusal.status == .badRequest && (refusal.object()["error"] as? String) == "invalid_grant")
            let afterReuse = try await party.post(
                api, "/token", ["grant_type": "refresh_token", "refresh_token": next])
            #expect((try afterReuse.object()["error"] as? String) == "invalid_grant")
            try await Task.sleep(for: .seconds(api.services.identity.configuration.sessionCheckInterval + 0.1))
            #expect(try await api.send(.get, "/userinfo", token: accessToken).status == .unauthorized)

            // The second sign-in asks no consent: the grant is remembered.
            let party2 = RelyingParty(id: party.id, secret: party.secret, redirectURI: party.redirectURI)
            let again = try await browser.get(party2.authorizePath(scope: "openid email"))
            #expect(again.status == .seeOther)
            #expect(RelyingParty.answer(again.headers[.location])["code"] != nil)
        }
    }

    @Test(arguments: Backend.all)
    func aReplayedCodeIsRefusedAndRevokesWhatItIssued(backend: Backend) async throws {
        try await withApp(backend) { api in
            let (party, user, browser) = try await api.personSignedInWith(RelyingParty.webApp)
            let code = try await browser.code(for: party)
            let first = try await party.exchange(api, code: code)
            #expect(first.status == .ok)
            let tokens = try first.object()
            // Another client presenting the code changes nothing: it is not that client's code to replay.
            let other = try await RelyingParty.register(api, RelyingParty.nativeApp)
            let foreign = try await other.post(
                api, "/token",
                [
                    "grant_type": "authorization_code", "code": code, "redirect_uri": party.redirectURI,
                    "code_verifier": party.verifier,
                ], basic: false)
            #expect(try foreign.object()["error"] as? String == "invalid_grant")
            let stillAlive = try #require(tokens["access_token"] as? String)
            #expect(try await api.send(.get, "/userinfo", token: stillAlive).status == .ok)
            let replay = try await party.exchange(api, code: code)
            #expect(replay.status == .badRequest)
            #expect(try replay.object()["error"] as? String == "invalid_grant")
            let refresh = try #require(tokens["refresh_token"] as? String)
            let afterReplay = try await party.post(
                api, "/token", ["grant_type": "refresh_token", "refresh_token": refresh])
            #expect(try afterReplay.object()["error"] as? String == "invalid_grant", "the replay revoked the family")
            let events = try await api.services.identity.authEvents(userID: UUID(uuidString: user.id), limit: 20)
            #expect(events.contains { $0.kind == .oauthCodeReplayed })
        }
    }

    @Test(arguments: Backend.all)
    func theTokenEndpointRefusesWhatTheSpecsRefuse(backend: Backend) async throws {
        try await withApp(backend) { api in
            let (party, _, browser) = try await api.personSignedInWith(RelyingParty.webApp)
            let native = try await RelyingParty.register(api, RelyingParty.nativeApp)
            func freshCode(_ party: RelyingParty, scope: String = "openid email") async throws -> String {
                try await browser.code(for: party, scope: scope)
            }
            func error(_ response: TestResponse) throws -> String? {
                #expect(response.headers[.contentType] == "application/json")
                return try response.object()["error"] as? String
            }

            // A wrong or missing PKCE verifier spends the code.
            var code = try await freshCode(party)
            var wrong = party
            wrong.verifier = OpaqueSecretForTests.verifier()
            #expect(try error(try await wrong.exchange(api, code: code)) == "invalid_grant")
            #expect(try error(try await party.exchange(api, code: code)) == "invalid_grant", "the code is spent")
            code = try await freshCode(party)
            let noVerifier = try await party.post(
                api, "/token", ["grant_type": "authorization_code", "code": code, "redirect_uri": party.redirectURI])
            #expect(try error(noVerifier) == "invalid_request")
            // A PKCE downgrade: the challenge itself as a plain verifier.
            code = try await freshCode(party)
            var downgrade = party
            downgrade.verifier = party.challenge
            #expect(try error(try await downgrade.exchange(api, code: code)) == "invalid_grant")
            // Another redirect URI than the request's.
            code = try await freshCode(party)
            let otherRedirect = try await party.post(
                api, "/token",
                [
                    "grant_type": "authorization_code", "code": code, "redirect_uri": "https://shop.example/callback2",
                    "code_verifier": party.verifier,
                ])
            #expect(try error(otherRedirect) == "invalid_grant")

            // Client authentication: a wrong secret, the wrong method, a secret sent by a public client.
            code = try await freshCode(party)
            let wrongSecret = try await party.exchange(
                api, code: code, basic: true)
            #expect(wrongSecret.status == .ok)
            let badSecret = try await party.post(
                api, "/token", ["grant_type": "client_credentials"], secret: "not-the-secret")
            #expect(try badSecret.status == .unauthorized && (error(badSecret)) == "invalid_client")
            #expect(badSecret.headers[.wwwAuthenticate]?.hasPrefix("Basic") == true)
            let wrongMethod = try await party.post(api, "/token", ["grant_type": "client_credentials"], basic: false)
            #expect(try error(wrongMethod) == "invalid_client", "registered for client_secret_basic")
            let nativeCode = try await freshCode(native, scope: "openid")
            let secretToPublic = try await native.post(
                api, "/token",
                [
                    "grant_type": "authorization_code", "code": nativeCode, "redirect_uri": native.redirectURI,
                    "code_verifier": native.verifier,
                ], basic: false, secret: "anything")
            #expect(try error(secretToPublic) == "invalid_client")
            let publicExchange = try await native.exchange(api, code: nativeCode, basic: false)
            #expect(publicExchange.status == .ok, "a public client authenticates with PKCE alone")
            #expect(try publicExchange.object()["refresh_token"] == nil)

            // One client's code is not another's.
            code = try await freshCode(party)
            var thief = native
            thief.verifier = party.verifier
            let stolen = try await native.post(
                api, "/token",
                [
                    "grant_type": "authorization_code", "code": code, "redirect_uri": party.redirectURI,
                    "code_verifier": party.verifier,
                ], basic: false)
            #expect(try error(stolen) == "invalid_grant")

            // Grant types the client did not register, and ones nobody supports.
            #expect(
                try error(try await party.post(api, "/token", ["grant_type": "client_credentials"]))
                    == "unauthorized_client")
            #expect(
                try error(try await party.post(api, "/token", ["grant_type": "password", "username": "a"]))
                    == "unsupported_grant_type")
            #expect(try error(try await party.post(api, "/token", [:])) == "invalid_request")
            let repeated = try await api.client.executeRequest(
                uri: "/token", method: .post,
                headers: [
                    .contentType: "application/x-www-form-urlencoded",
                    .authorization: "Basic " + Data("\(party.id):\(party.secret ?? "")".utf8).base64EncodedString(),
                ],
                body: .init(string: "grant_type=refresh_token&grant_type=client_credentials"))
            #expect(try error(repeated) == "invalid_request")
            let malformedBasic = try await api.client.executeRequest(
                uri: "/token", method: .post,
                headers: [.contentType: "application/x-www-form-urlencoded", .authorization: "Basic !!!"],
                body: .init(string: "grant_type=client_credentials"))
            #expect(try malformedBasic.status == .unauthorized && (error(malformedBasic)) == "invalid_client")
        }
    }

    @Test(arguments: Backend.all)
    func authorizationErrorsStayWithThePersonOrGoBackWithIss(backend: Backend) async throws {
        try await withApp(backend) { api in
            let party = try await RelyingParty.register(api, RelyingParty.webApp)
            let user = try await api.newUser()
            let browser = Browser(api.client)

            // Not signed in: prompt=none answers login_required; otherwise the sign-in page, which returns here.
            // Arriving without our cookies (as from another site), one step from our own page comes first.
            let hop = try await browser.get(party.authorizePath(extra: ["prompt": "none"]))
            #expect(hop.status == .ok && hop.html.contains("http-equiv=\"refresh\""))
            let silent = try await browser.get(party.authorizePath(extra: ["prompt": "none"]))
            #expect(RelyingParty.answer(silent.headers[.location])["error"] == "login_required")
            let unsigned = try await browser.get(party.authorizePath())
            #expect(unsigned.status == .seeOther)
            let login = try #require(unsigned.headers[.location])
            #expect(login.hasPrefix("/login?next=%2Fauthorize%3F"))
            let loginPage = try await browser.get(login)
            let next = try #require(Browser.hiddenField("next", in: loginPage.html))
            let signedIn = try await browser.post(
                "/login", ["email": user.email, "password": testPassword, "next": next])
            #expect(signedIn.status == .ok && signedIn.html.contains("http-equiv=\"refresh\""))
            #expect(signedIn.lastSetCookiesContainTicket(browser))

            // An open redirect through next: anything but the authorization endpoint is ignored.
            for evil in ["https://evil.example/", "//evil.example/x", "/authorize\\@evil", "/my/consent"] {
                let other = Browser(api.client)
                _ = try await other.get("/login")
                let response = try await other.post(
                    "/login", ["email": user.email, "password": testPassword, "next": evil])
                #expect(response.headers[.location] == "/my/consent", "\(evil)")
            }

            // Redirect URI variants are never redirected to.
            for uri in [
                "https://shop.example/callback/x", "https://Shop.example/callback", "https://evil.example/callback",
            ] {
                let page = try await browser.get(party.authorizePath(extra: ["redirect_uri": uri]))
                #expect(page.status == .badRequest, "\(uri)")
                #expect(page.headers[.location] == nil && page.html.contains("not one it registered"))
            }
            let unknown = try await browser.get(
                party.authorizePath(extra: ["client_id": "AAAAAAAAAAAAAAAAAAAAAA"]))
            #expect(unknown.status == .badRequest && unknown.headers[.location] == nil)

            // Refusals the client can hear about carry its state and our issuer.
            let plain = try await browser.get(party.authorizePath(extra: ["code_challenge_method": "plain"]))
            let refused = RelyingParty.answer(plain.headers[.location])
            #expect(refused["error"] == "invalid_request" && refused["state"] == "state-1")
            #expect(refused["iss"] == api.services.settings.issuer)
            let scope = try await browser.get(party.authorizePath(scope: "openid admin"))
            #expect(RelyingParty.answer(scope.headers[.location])["error"] == "invalid_scope")

            // Deny, then prompt=none without a grant.
            let denied = try await browser.authorize(party.authorizePath(), decision: "deny")
            #expect(RelyingParty.answer(denied.headers[.location])["error"] == "access_denied")
            let noConsent = try await browser.get(party.authorizePath(extra: ["prompt": "none"]))
            #expect(RelyingParty.answer(noConsent.headers[.location])["error"] == "consent_required")

            // form_post: the code leaves in a form the browser posts, and the page may post only there.
            let posted = try await browser.authorize(party.authorizePath(extra: ["response_mode": "form_post"]))
            #expect(posted.status == .ok && posted.html.contains("action=\"https://shop.example/callback\""))
            #expect(posted.html.contains("name=\"code\"") && posted.html.contains("name=\"iss\""))
            #expect(posted.headers[.contentSecurityPolicy]?.contains("form-action 'self' https://shop.example") == true)

            // A consent form without its CSRF token changes nothing.
            let page = try await browser.get(party.authorizePath(scope: "openid email profile"))
            let request = try #require(Browser.hiddenField("request", in: page.html))
            let forged = try await browser.post("/authorize", ["request": request, "decision": "allow"], csrf: "x")
            #expect(forged.status == .forbidden)
        }
    }

    @Test(arguments: Backend.all)
    func machineClientsReachOnlyWhatTheirScopesOpen(backend: Backend) async throws {
        try await withApp(backend) { api in
            let machine = try await RelyingParty.register(api, RelyingParty.backend)
            let subject = uniqueSubjectText()
            #expect(
                try await api.send(
                    .post, "/v1/subjects/\(subject)/consents", json: #"{"purpose":"marketing","decision":"granted"}"#
                ).status == .created)

            let issued = try await machine.post(api, "/token", ["grant_type": "client_credentials"], basic: false)
            #expect(issued.status == .ok)
            let body = try issued.object()
            #expect(body["refresh_token"] == nil && body["id_token"] == nil)
            #expect(body["scope"] as? String == "consent:read requests:manage")
            let token = try #require(body["access_token"] as? String)
            #expect(try jwtPart(token, 1)["sub"] as? String == machine.id)

            let read = try await api.send(.get, "/v1/subjects/\(subject)/consents?reason=sync", token: token)
            #expect(read.status == .ok)
            let write = try await api.send(
                .post, "/v1/subjects/\(subject)/consents", json: #"{"purpose":"marketing","decision":"withdrawn"}"#,
                token: token)
            #expect(write.status == .forbidden)
            #expect(write.headers[.wwwAuthenticate]?.contains("insufficient_scope") == true)
            for (method, path) in [
                (HTTPRequest.Method.get, "/v1/me"), (.get, "/v1/admin/oauth-clients"), (.post, "/v1/purposes"),
                (.get, "/v1/admin/ledger/verify"), (.get, "/userinfo"),
            ] {
                let response = try await api.send(method, path, json: method == .post ? "{}" : nil, token: token)
                #expect(response.status == .forbidden, "\(method) \(path)")
            }
            let queue = try await api.send(.get, "/v1/requests", token: token)
            #expect(queue.status == .ok, "requests:manage opens the request queue")

            // Narrower on request; never wider.
            let narrow = try await machine.post(
                api, "/token", ["grant_type": "client_credentials", "scope": "consent:read"], basic: false)
            #expect(try narrow.object()["scope"] as? String == "consent:read")
            let wider = try await machine.post(
                api, "/token", ["grant_type": "client_credentials", "scope": "consent:write"], basic: false)
            #expect(try wider.object()["error"] as? String == "invalid_scope")

            // Deleting the client ends its tokens.
            #expect(
                try await api.send(.delete, "/v1/admin/oauth-clients/\(machine.id)", token: api.adminToken).status
                    == .noContent)
            try await Task.sleep(for: .seconds(api.services.identity.configuration.sessionCheckInterval + 0.1))
            #expect(try await api.send(.get, "/v1/requests", token: token).status == .unauthorized)
        }
    }

    @Test(arguments: Backend.all)
    func introspectionAndRevocationKeepToTheClientsOwnTokens(backend: Backend) async throws {
        try await withApp(backend) { api in
            let (party, user, browser) = try await api.personSignedInWith(RelyingParty.webApp)
            let other = try await RelyingParty.register(api, RelyingParty.backend)
            let code = try await browser.code(for: party)
            let tokens = try await party.exchange(api, code: code).object()
            let access = try #require(tokens["access_token"] as? String)
            let refresh = try #require(tokens["refresh_token"] as? String)

            let own = try await party.post(api, "/introspect", ["token": access]).object()
            #expect(own["active"] as? Bool == true && own["client_id"] as? String == party.id)
            #expect(own["sub"] as? String == user.id && own["scope"] as? String == "email offline_access openid")
            let ownRefresh = try await party.post(api, "/introspect", ["token": refresh]).object()
            #expect(ownRefresh["active"] as? Bool == true && ownRefresh["token_type"] as? String == "refresh_token")
            for token in [access, refresh, user.accessToken, "garbage"] {
                let foreign = try await other.post(api, "/introspect", ["token": token], basic: false)
                #expect(foreign.status == .ok)
                #expect(try foreign.object() as NSDictionary == ["active": false] as NSDictionary)
            }
            let anonymous = try await api.client.executeRequest(
                uri: "/introspect", method: .post, headers: [.contentType: "application/x-www-form-urlencoded"],
                body: .init(string: "token=\(access)&client_id=\(party.id)"))
            #expect(anonymous.status == .unauthorized)

            // Another client revoking changes nothing; the owner's revocation ends the session.
            #expect(try await other.post(api, "/revoke", ["token": refresh], basic: false).status == .ok)
            #expect(try await party.post(api, "/introspect", ["token": refresh]).object()["active"] as? Bool == true)
            #expect(try await party.post(api, "/revoke", ["token": refresh]).status == .ok)
            #expect(try await party.post(api, "/introspect", ["token": refresh]).object()["active"] as? Bool == false)
            #expect(try await party.post(api, "/introspect", ["token": access]).object()["active"] as? Bool == false)
        }
    }

    @Test(arguments: Backend.all)
    func disconnectingAnApplicationEndsItsAccess(backend: Backend) async throws {
        try await withApp(backend) { api in
            let (party, user, browser) = try await api.personSignedInWith(RelyingParty.webApp)
            let code = try await browser.code(for: party)
            let refresh = try #require(try await party.exchange(api, code: code).object()["refresh_token"] as? String)

            let pending = try await browser.code(for: party)
            let security = try await browser.get("/my/security")
            #expect(security.html.contains("Connected applications") && security.html.contains("Shop"))
            let disconnected = try await browser.post("/my/security/applications/\(party.id)/disconnect", [:])
            #expect(disconnected.status == .seeOther)
            #expect(try await browser.get("/my/security").html.contains("No application signs in with your account."))
            let after = try await party.post(api, "/token", ["grant_type": "refresh_token", "refresh_token": refresh])
            #expect(try after.object()["error"] as? String == "invalid_grant")
            let late = try await party.exchange(api, code: pending)
            #expect(try late.object()["error"] as? String == "invalid_grant", "a code from before the disconnect")
            #expect(try await browser.get(party.authorizePath()).html.contains("Allow Shop"), "consent is asked again")
            let kinds = try await api.services.identity.authEvents(userID: UUID(uuidString: user.id), limit: 50).map(
                \.kind)
            #expect(
                kinds.contains(.oauthGranted) && kinds.contains(.oauthDisconnected)
                    && kinds.contains(.oauthCodeExchanged))

            // Deleting the client ends what it held: sessions, grants, unspent codes.
            let another = try await browser.code(for: party)
            let tokens = try await party.exchange(api, code: another).object()
            let pendingAtDeletion = try await browser.code(for: party)
            #expect(
                try await api.send(.delete, "/v1/admin/oauth-clients/\(party.id)", token: api.adminToken).status
                    == .noContent)
            let orphan = try #require(tokens["refresh_token"] as? String)
            let refused = try await party.post(api, "/token", ["grant_type": "refresh_token", "refresh_token": orphan])
            #expect(try refused.object()["error"] as? String == "invalid_client")
            #expect(try await party.exchange(api, code: pendingAtDeletion).status == .unauthorized)
            try await Task.sleep(for: .seconds(api.services.identity.configuration.sessionCheckInterval + 0.1))
            let access = try #require(tokens["access_token"] as? String)
            #expect(try await api.send(.get, "/userinfo", token: access).status == .unauthorized)
            #expect(!(try await browser.get("/my/security").html.contains("Shop")))
        }
    }

    @Test(arguments: Backend.all)
    func pushedAuthorizationRequests(backend: Backend) async throws {
        try await withApp(backend) { api in
            let pushedOnly = RelyingParty.webApp.replacingOccurrences(
                of: #""grantTypes""#, with: #""requirePushedAuthorizationRequests":true,"grantTypes""#)
            let (party, _, browser) = try await api.personSignedInWith(pushedOnly)
            let inTheURL = try await browser.get(party.authorizePath())
            #expect(RelyingParty.answer(inTheURL.headers[.location])["error"] == "invalid_request")

            let fields = RelyingParty.answer("https://x/?" + party.authorizePath().dropFirst("/authorize?".count))
            let pushed = try await party.post(api, "/par", fields)
            #expect(pushed.status == .created, "\(String(buffer: pushed.body))")
            let body = try pushed.object()
            #expect(body["expires_in"] as? Int == 300)
            let requestURI = try #require(body["request_uri"] as? String)
            #expect(requestURI.hasPrefix("urn:ietf:params:oauth:request_uri:"))
            let path = "/authorize?" + RelyingParty.encoded(["client_id": party.id, "request_uri": requestURI])
            let answered = try await browser.authorize(path)
            let code = try #require(RelyingParty.answer(answered.headers[.location])["code"])
            #expect(RelyingParty.answer(answered.headers[.location])["state"] == "state-1")
            #expect(try await party.exchange(api, code: code).status == .ok)
            // Spent by its code; and never another client's.
            #expect(try await browser.get(path).status == .badRequest)
            let again = try #require(try await party.post(api, "/par", fields).object()["request_uri"] as? String)
            let other = try await RelyingParty.register(api, RelyingParty.nativeApp)
            let foreign = try await browser.get(
                "/authorize?" + RelyingParty.encoded(["client_id": other.id, "request_uri": again]))
            #expect(foreign.status == .badRequest && foreign.headers[.location] == nil)

            // Malformed pushes get the error the specs name, as JSON, and store nothing.
            for (change, expected) in [
                (["code_challenge": nil], "invalid_request"), (["scope": "openid admin"], "invalid_scope"),
                (["request_uri": requestURI], "invalid_request"), (["client_id": other.id], "invalid_request"),
                (["redirect_uri": "https://evil.example/callback"], "invalid_request"),
                (["response_type": "token"], "unsupported_response_type"),
            ] as [([String: String?], String)] {
                var changed = fields
                for (name, value) in change { changed[name] = value }
                let refused = try await party.post(api, "/par", changed)
                #expect(refused.status == .badRequest, "\(change)")
                #expect(try refused.object()["error"] as? String == expected, "\(change)")
            }
            let unauthenticated = try await party.post(api, "/par", fields, secret: "wrong")
            #expect(unauthenticated.status == .unauthorized)
        }
    }

    @Test(arguments: Backend.all)
    func tokenExchangeNeverWidensWhatThePersonAllowed(backend: Backend) async throws {
        try await withApp(backend) { api in
            let (app, user, browser) = try await api.personSignedInWith(RelyingParty.webApp)
            let backendJSON = #"""
                {"name":"Orders backend","kind":"confidential",
                 "grantTypes":["urn:ietf:params:oauth:grant-type:token-exchange"],
                 "scopes":["consent:read","requests:manage"]}
                """#
            let exchanger = try await RelyingParty.register(api, backendJSON)
            func exchange(
                _ token: String, scope: String? = nil, type: String? = IdentityService.accessTokenType
            )
                async throws -> TestResponse
            {
                var fields = ["grant_type": "urn:ietf:params:oauth:grant-type:token-exchange", "subject_token": token]
                if let type { fields["subject_token_type"] = type }
                if let scope { fields["scope"] = scope }
                return try await exchanger.post(api, "/token", fields)
            }

            // A portal or API token of the person's own is never exchanged: no application was granted it.
            #expect(try await exchange(user.accessToken).object()["error"] as? String == "invalid_grant")

            // A token the person gave an application: the backend gets no more than it, and acts for them.
            let granted = try await browser.code(for: app, scope: "openid consent:read")
            let appToken = try #require(try await app.exchange(api, code: granted).object()["access_token"] as? String)
            let exchanged = try await exchange(appToken, scope: "consent:read")
            #expect(exchanged.status == .ok, "\(String(buffer: exchanged.body))")
            let body = try exchanged.object()
            #expect(body["issued_token_type"] as? String == IdentityService.accessTokenType)
            #expect(body["scope"] as? String == "consent:read" && body["refresh_token"] == nil)
            let token = try #require(body["access_token"] as? String)
            let claims = try jwtPart(token, 1)
            #expect(claims["sub"] as? String == user.id && claims["client_id"] as? String == exchanger.id)
            #expect((claims["act"] as? [String: Any])?["sub"] as? String == exchanger.id)
            let read = try await api.send(.get, "/v1/subjects/\(user.id)/consents", token: token)
            #expect(read.status == .ok)
            let write = try await api.send(
                .post, "/v1/subjects/\(user.id)/consents", json: #"{"purpose":"marketing","decision":"granted"}"#,
                token: token)
            #expect(write.status == .forbidden)
            // Revoking the exchanged token does not end the application's session it rides on.
            #expect(try await exchanger.post(api, "/revoke", ["token": token]).status == .ok)
            #expect(try await api.send(.get, "/userinfo", token: appToken).status == .ok)

            // Scopes the application's token lacks cannot be had by exchanging it.
            let narrow = try await browser.code(for: app, scope: "openid email")
            let narrowToken = try #require(
                try await app.exchange(api, code: narrow).object()["access_token"] as? String)
            #expect(
                try await exchange(narrowToken, scope: "consent:read").object()["error"] as? String == "invalid_scope")
            #expect(try await exchange(appToken, scope: "admin").object()["error"] as? String == "invalid_scope")

            // Bad subjects, and clients not registered for the grant.
            #expect(try await exchange("not-a-token").object()["error"] as? String == "invalid_grant")
            let untyped = try await exchange(appToken, type: nil)
            #expect(try untyped.object()["error"] as? String == "invalid_request")
            let notRegistered = try await app.post(
                api, "/token",
                [
                    "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange", "subject_token": appToken,
                    "subject_token_type": IdentityService.accessTokenType,
                ])
            #expect(try notRegistered.object()["error"] as? String == "unauthorized_client")

            // It lives only as long as the person's grant to the application.
            #expect(try await browser.post("/my/security/applications/\(app.id)/disconnect", [:]).status == .seeOther)
            try await Task.sleep(for: .seconds(api.services.identity.configuration.sessionCheckInterval + 0.1))
            let after = try await api.send(.get, "/v1/subjects/\(user.id)/consents", token: token)
            #expect(after.status == .unauthorized)
        }
    }

    @Test(arguments: Backend.all)
    func signingOutOfThePortalSignsTheApplicationsOut(backend: Backend) async throws {
        try await withApp(backend) { api in
            let withLogout = RelyingParty.webApp.replacingOccurrences(
                of: #""grantTypes""#,
                with: #""postLogoutRedirectUris":["https://shop.example/signed-out"],"grantTypes""#)
            let (party, _, browser) = try await api.personSignedInWith(withLogout)
            let tokens = try await party.exchange(api, code: try await browser.code(for: party)).object()
            let idToken = try #require(tokens["id_token"] as? String)
            let refresh = try #require(tokens["refresh_token"] as? String)
            func path(_ parameters: [String: String]) -> String { "/end-session?" + RelyingParty.encoded(parameters) }
            let valid = [
                "id_token_hint": idToken, "post_logout_redirect_uri": "https://shop.example/signed-out", "state": "bye",
            ]

            // Nowhere but a registered address, and only on a hint QSPP issued.
            for (name, changed) in [
                ("unregistered", ["post_logout_redirect_uri": "https://evil.example/"]),
                ("forged hint", ["id_token_hint": String(idToken.dropLast(4)) + "AAAA"]),
                ("another client", ["client_id": "AAAAAAAAAAAAAAAAAAAAAA"]),
            ] {
                let refused = try await browser.get(path(valid.merging(changed) { _, new in new }))
                #expect(refused.status == .badRequest && refused.headers[.location] == nil, "\(name)")
            }

            // A relying party's own post only asks too (RP-Initiated Logout §2), and signs no one out.
            let posted = try await browser.postFromAnotherSite(
                "/end-session", valid.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }, sameSite: true)
            #expect(posted.status == .ok && posted.html.contains("asks to sign you out"), "\(posted.status)")

            // From the application's site the browser sends none of our cookies: one step from our own
            // page brings them, and then the person is asked.
            let crossSite = try await browser.getFromAnotherSite(path(valid))
            let hop = try #require(crossSite.html.firstMatch(of: /content="0;url=([^"]+)"/)?.1, "\(crossSite.html)")
            let afterHop = try await browser.get(String(hop).replacingOccurrences(of: "&amp;", with: "&"))
            #expect(afterHop.status == .ok && afterHop.html.contains("asks to sign you out"))

            // A GET only asks; the person's click, with the CSRF token, signs out.
            let asked = try await browser.get(path(valid))
            #expect(asked.status == .ok && asked.html.contains("asks to sign you out"))
            #expect(asked.headers[.contentSecurityPolicy]?.contains("form-action 'self' https://shop.example") == true)
            let fields = [
                "client_id": party.id, "post_logout_redirect_uri": valid["post_logout_redirect_uri"]!, "state": "bye",
            ]
            #expect(try await browser.post("/end-session", fields, csrf: "forged").status == .forbidden)
            let signedOut = try await browser.post("/end-session", fields)
            #expect(signedOut.status == .seeOther)
            #expect(signedOut.headers[.location] == "https://shop.example/signed-out?state=bye")
            let again = try await party.post(api, "/token", ["grant_type": "refresh_token", "refresh_token": refresh])
            #expect(
                try again.object()["error"] as? String == "invalid_grant", "the application's session ended with it")
            #expect(try await browser.get("/my/security").status != .ok)

            // Signed out already: straight back to the application.
            let direct = try await browser.get(path(valid))
            #expect(direct.headers[.location] == "https://shop.example/signed-out?state=bye")
        }
    }

    @Test func discoveryListsExactlyWhatIsSupported() async throws {
        try await withApp(.sqlite) { api in
            let openID = try await api.send(.get, "/.well-known/openid-configuration", token: nil)
            let rfc8414 = try await api.send(.get, "/.well-known/oauth-authorization-server", token: nil)
            #expect(openID.status == .ok && rfc8414.status == .ok)
            #expect(String(buffer: openID.body) == String(buffer: rfc8414.body))
            let document = try openID.object()
            let issuer = api.services.settings.issuer
            #expect(document["issuer"] as? String == issuer)
            #expect(document["token_endpoint"] as? String == issuer + "/token")
            #expect(document["authorization_endpoint"] as? String == issuer + "/authorize")
            #expect(document["response_types_supported"] as? [String] == ["code"])
            #expect(
                document["grant_types_supported"] as? [String] == [
                    "authorization_code", "refresh_token", "client_credentials",
                    "urn:ietf:params:oauth:grant-type:token-exchange",
                ])
            #expect(document["code_challenge_methods_supported"] as? [String] == ["S256"])
            #expect(document["authorization_response_iss_parameter_supported"] as? Bool == true)
            #expect(!String(buffer: openID.body).contains("password"))
        }
    }
}

extension TestResponse {
    func lastSetCookiesContainTicket(_ browser: Browser) -> Bool {
        browser.lastSetCookies.contains { $0.hasPrefix("__Host-qspp-ticket=") }
    }

}

extension OAuthFlowAPITests {
    /// OIDC Core §3.1.2.1: the authorization endpoint takes POST too. The relying party's post reaches
    /// our page without the person's cookies, which one step from our own page brings back.
    @Test(arguments: Backend.all)
    func aRelyingPartyMayPostItsAuthorizationRequest(backend: Backend) async throws {
        try await withApp(backend) { api in
            let (party, _, browser) = try await api.personSignedInWith(RelyingParty.webApp)
            let query = String(party.authorizePath().dropFirst("/authorize?".count))
            let fields = FormFieldsForTests.pairs(query)
            let posted = try await browser.postFromAnotherSite("/authorize", fields)
            #expect(posted.status == .ok, "\(String(buffer: posted.body))")
            let next = try #require(posted.html.firstMatch(of: /content="0;url=([^"]+)"/)?.1)
            let consent = try await browser.get(String(next).replacingOccurrences(of: "&amp;", with: "&"))
            let request = try #require(Browser.hiddenField("request", in: consent.html), "\(consent.html.prefix(300))")
            let answered = try await browser.post("/authorize", ["request": request, "decision": "allow"])
            let code = try #require(RelyingParty.answer(answered.headers[.location])["code"])
            let tokens = try await party.exchange(api, code: code)
            #expect(tokens.status == .ok)
            // A post with a CSRF field is a decision, and a forged one is refused.
            let forged = try await browser.post(
                "/authorize", ["request": request, "decision": "allow"], csrf: "forged")
            #expect(forged.status == .forbidden)
        }
    }
}

extension OAuthFlowAPITests {
    /// A code given to a portal session that then ends (the person signs out, or their sessions are
    /// revoked) starts no application session: it would outlive the sign-out that should have ended it.
    @Test(arguments: Backend.all)
    func aCodeDiesWithTheSessionItWasGivenTo(backend: Backend) async throws {
        try await withApp(backend) { api in
            let (party, _, browser) = try await api.personSignedInWith(RelyingParty.webApp)
            let code = try await browser.code(for: party)
            #expect(try await browser.post("/logout", [:]).status == .seeOther)
            let exchanged = try await party.exchange(api, code: code)
            #expect(exchanged.status == .badRequest)
            #expect(try exchanged.object()["error"] as? String == "invalid_grant")
        }
    }
}

enum FormFieldsForTests {
    static func pairs(_ query: String) -> [(String, String)] {
        query.split(separator: "&").map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1).map {
                String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? ""
            }
            return (parts[0], parts.count > 1 ? parts[1] : "")
        }
    }
}
