import Crypto
import Foundation
import Kernel
import PQCrypto

/// The token endpoint (RFC 6749 §3.2), revocation (RFC 7009), introspection (RFC 7662) and UserInfo
/// (OIDC Core §5.3): what a client may exchange, and what it learns.
extension IdentityService {
    /// How a client authenticated at the token endpoint, as the request showed it.
    public struct PresentedClient: Sendable {
        public var id: String?
        public var secret: String?
        public var method: OAuthClient.Authentication
        /// A `private_key_jwt` client's signed assertion.
        public var assertion: String?

        public init(id: String?, secret: String?, method: OAuthClient.Authentication, assertion: String? = nil) {
            self.id = id
            self.secret = secret
            self.method = method
            self.assertion = assertion
        }
    }

    /// What the token endpoint answers (RFC 6749 §5.1, OIDC Core §3.1.3.3).
    public struct IssuedTokens: Sendable {
        public let accessToken: String
        public let expiresIn: Int
        public let refreshToken: String?
        public let idToken: String?
        public let scopes: Set<OAuthClient.Scope>
        /// Token exchange names what it issued (RFC 8693 §2.2.1).
        public var issuedTokenType: String?
        /// The DPoP key the access token is bound to; its `token_type` is then `DPoP`.
        public var boundKey: String?

        public var tokenType: String { boundKey == nil ? "Bearer" : "DPoP" }
    }

    public static let accessTokenType = "urn:ietf:params:oauth:token-type:access_token"

    /// The registered client behind `presented`, if it authenticated with the one method it registered.
    /// A secret sent by a public client, a method other than the registered one, an unknown client and a
    /// wrong secret all get the one `invalid_client`, after the same work.
    public func authenticateClient(_ presented: PresentedClient) async throws -> OAuthClient {
        guard let id = presented.id, !id.isEmpty, id.utf8.count <= 64, let client = try await cachedClient(id)
        else {
            _ = ConstantTime.equal(
                Array(OpaqueSecret.digest(presented.secret ?? "").utf8), Array(repeating: 0, count: 64))
            throw OAuthError.invalidClient
        }
        // The secret is hashed and compared whatever the method, so the time taken does not tell which
        // method the client registered.
        let matches = ConstantTime.equal(
            Array(OpaqueSecret.digest(presented.secret ?? "").utf8), Array((client.secretDigest ?? "").utf8))
        guard presented.method == client.authentication else { throw OAuthError.invalidClient }
        switch client.authentication {
        case .none:
            guard presented.secret == nil else { throw OAuthError.invalidClient }
        case .clientSecretBasic, .clientSecretPost:
            guard presented.secret != nil, client.secretDigest != nil, matches else { throw OAuthError.invalidClient }
        case .privateKeyJWT:
            guard presented.secret == nil, let assertion = presented.assertion else { throw OAuthError.invalidClient }
            try await checkClientAssertion(assertion, for: client)
        }
        return client
    }

    // MARK: Grants

    /// The authorization code grant (RFC 6749 §4.1.3 with PKCE): the code must be unspent, unexpired,
    /// issued to this client for this redirect URI, and match the verifier. A second use revokes what the
    /// first issued.
    public func exchangeCode(
        _ code: String, redirectURI: String?, verifier: String?, client: OAuthClient, boundTo key: String? = nil,
        from info: ClientInfo
    ) async throws -> IssuedTokens {
        guard client.grantTypes.contains(.authorizationCode) else {
            throw OAuthError(.unauthorizedClient, "the client may not use authorization_code")
        }
        guard let verifier else { throw OAuthError.invalidRequest("code_verifier is required") }
        guard let redirectURI else { throw OAuthError.invalidRequest("redirect_uri is required") }
        let now = now()
        let sessionID = UUID()
        let refreshToken = OpaqueSecret.generateToken()
        let issuesRefresh = client.grantTypes.contains(.refreshToken)
        let lifetime = configuration.refreshTokenLifetime
        let redemption = try await repository.redeemAuthorizationCode(
            digest: OpaqueSecret.digest(code), clientID: client.id, at: now
        ) { stored in
            guard stored.expiresAt > now else { return .refuse(.invalidGrant("the code has expired")) }
            guard stored.redirectURI == redirectURI else {
                return .refuse(.invalidGrant("redirect_uri differs from the authorization request's"))
            }
            guard PKCE.verifies(verifier, challenge: stored.codeChallenge) else {
                return .refuse(.invalidGrant("code_verifier does not match the code_challenge"))
            }
            let session = Session(
                id: sessionID, userID: stored.userID, createdAt: stored.authenticatedAt, lastUsedAt: now, client: info,
                rememberMe: false,
                authenticationMethods: stored.authenticationMethods,
                application: .init(
                    clientID: client.id, scopes: stored.scopes, authenticatedAt: stored.authenticatedAt, boundKey: key,
                    parentSessionID: stored.webSessionID))
            let firstToken =
                issuesRefresh && stored.scopes.contains(.offlineAccess)
                ? RefreshTokenRecord(
                    digest: OpaqueSecret.digest(refreshToken), sessionID: sessionID, userID: stored.userID,
                    issuedAt: now, expiresAt: now.addingTimeInterval(lifetime)) : nil
            let event = AuthEvent(
                kind: .oauthCodeExchanged, at: now, userID: stored.userID, sessionID: sessionID, client: info,
                details: ["client_id": client.id, "scope": OAuthClient.Scope.text(stored.scopes)])
            return .issue(session, firstToken: firstToken, events: [event])
        }
        switch redemption {
        case .refused(let error):
            throw error
        case .replayed(let stored, let revoked):
            if let revoked { sessionCache.markRevoked(revoked) }
            try await audit(
                .oauthCodeReplayed, userID: stored.userID, sessionID: revoked, client: info,
                details: ["client_id": client.id])
            throw OAuthError.invalidGrant("the code was used before; the tokens issued for it are revoked")
        case .redeemed(let stored):
            observe(.oauthCodeExchanged)
            guard let account = try await repository.account(id: stored.userID),
                let session = try await repository.session(id: sessionID)
            else { throw OAuthError.invalidGrant("the account is gone") }
            let hasRefresh = issuesRefresh && stored.scopes.contains(.offlineAccess)
            return try await issue(
                to: client, account: account, session: session, nonce: stored.nonce, scopes: stored.scopes,
                refreshToken: hasRefresh ? refreshToken : nil, boundTo: key, now: now)
        }
    }

    /// The refresh token grant for a client's session (RFC 6749 §6): rotation, and reuse detection that
    /// revokes the whole family, as for QSPP's own clients. `scope` may narrow, never widen.
    /// A session bound to a DPoP key refreshes only with a proof by that key.
    public func refreshForClient(
        _ refreshToken: String, scope: String?, client: OAuthClient, boundTo key: String? = nil, from info: ClientInfo
    ) async throws -> IssuedTokens {
        guard client.grantTypes.contains(.refreshToken) else {
            throw OAuthError(.unauthorizedClient, "the client may not use refresh_token")
        }
        let rotation: Rotation
        do {
            rotation = try await rotate(refreshToken, application: client.id, key: key, client: info)
        } catch let error as IdentityError where error == .refreshTokenReused {
            throw OAuthError.invalidGrant("the refresh token was used before; its whole family is revoked")
        } catch let error as IdentityError where error == .invalidRefreshToken {
            throw OAuthError.invalidGrant("the refresh token is not valid")
        }
        let granted = rotation.session.application?.scopes ?? []
        let scopes =
            try scope.map { text throws(OAuthError) in try OAuthClient.Scope.parse(text, allowed: granted) } ?? granted
        return try await issue(
            to: client, account: rotation.account, session: rotation.session, nonce: nil, scopes: scopes,
            refreshToken: rotation.token, boundTo: key, now: rotation.now)
    }

    /// The client credentials grant (RFC 6749 §4.4): a token for the client itself, with the API scopes
    /// it registered (all of them when it names none). It carries no refresh token.
    public func clientCredentials(
        scope: String?, client: OAuthClient, boundTo key: String? = nil
    ) async throws
        -> IssuedTokens
    {
        guard client.kind == .confidential, client.grantTypes.contains(.clientCredentials) else {
            throw OAuthError(.unauthorizedClient, "the client may not use client_credentials")
        }
        let allowed = client.scopes.subtracting(OAuthClient.Scope.signIn)
        let scopes =
            try scope.map { text throws(OAuthError) in try OAuthClient.Scope.parse(text, allowed: allowed) } ?? allowed
        guard !scopes.isEmpty else { throw OAuthError.invalidScope("the client has no API scope registered") }
        let now = now()
        let access = try await tokens.issueClientAccessToken(
            clientID: client.id, scopes: scopes, account: nil, session: nil, boundKey: key, now: now)
        return IssuedTokens(
            accessToken: access.token, expiresIn: Int(tokens.accessTokenLifetime), refreshToken: nil, idToken: nil,
            scopes: scopes, boundKey: key)
    }

    /// Token exchange (RFC 8693): a backend trades a person's access token for one of its own, to call
    /// QSPP's API for them. It gets no more than the person's token allowed, no more than the client
    /// registered, and the API scopes only; the token names the client as its actor and lives only as
    /// long as the person's session.
    public func exchangeToken(
        subjectToken: String?, subjectTokenType: String?, actorToken: String?, scope: String?, client: OAuthClient,
        boundTo key: String? = nil
    ) async throws -> IssuedTokens {
        guard client.kind == .confidential, client.grantTypes.contains(.tokenExchange) else {
            throw OAuthError(.unauthorizedClient, "the client may not exchange tokens")
        }
        guard let subjectToken, !subjectToken.isEmpty else {
            throw OAuthError.invalidRequest("subject_token is required")
        }
        guard subjectTokenType == Self.accessTokenType else {
            throw OAuthError.invalidRequest("subject_token_type must be \(Self.accessTokenType)")
        }
        guard actorToken == nil else { throw OAuthError.invalidRequest("actor tokens are not supported") }
        let person: AuthenticatedUser
        do {
            person = try await authenticate(accessToken: subjectToken)
        } catch is IdentityError {
            throw OAuthError.invalidGrant("the subject token is not valid")
        }
        // Only a token the person gave an application, still connected, with its consent behind it: a
        // portal token carries the person's whole rights, which no application was ever granted.
        guard let delegation = person.delegation, !delegation.isMachine,
            try await repository.oauthGrant(userID: person.userID, clientID: delegation.clientID) != nil,
            let account = try await repository.account(id: person.userID),
            let session = try await repository.session(id: person.sessionID)
        else {
            throw OAuthError.invalidGrant("the subject token must be one a person gave an application they connected")
        }
        // A sender-constrained token stays constrained: it is exchanged only with a proof by its key.
        if let bound = person.boundKey, bound != key {
            throw OAuthError.invalidGrant("the subject token is DPoP-bound: prove its key")
        }
        let allowed = client.scopes.subtracting(OAuthClient.Scope.signIn).intersection(delegation.scopes)
        let scopes =
            try scope.map { text throws(OAuthError) in try OAuthClient.Scope.parse(text, allowed: allowed) } ?? allowed
        guard !scopes.isEmpty else {
            throw OAuthError.invalidScope("the subject token allows none of the client's scopes")
        }
        let now = now()
        let access = try await tokens.issueClientAccessToken(
            clientID: client.id, scopes: scopes, account: account, session: session, actor: client.id, boundKey: key,
            now: now)
        return IssuedTokens(
            accessToken: access.token, expiresIn: Int(tokens.accessTokenLifetime), refreshToken: nil, idToken: nil,
            scopes: scopes, issuedTokenType: Self.accessTokenType, boundKey: key)
    }

    private func issue(
        to client: OAuthClient, account: Account, session: Session, nonce: String?, scopes: Set<OAuthClient.Scope>,
        refreshToken: String?, boundTo key: String?, now: Date
    ) async throws -> IssuedTokens {
        let access = try await tokens.issueClientAccessToken(
            clientID: client.id, scopes: scopes, account: account, session: session, boundKey: key, now: now)
        let idToken =
            scopes.contains(.openid)
            ? try await tokens.issueIDToken(
                account: account, clientID: client.id, session: session, nonce: nonce, scopes: scopes,
                algorithm: client.idTokenAlgorithm, now: now) : nil
        return IssuedTokens(
            accessToken: access.token, expiresIn: Int(tokens.accessTokenLifetime), refreshToken: refreshToken,
            idToken: idToken, scopes: scopes, boundKey: key)
    }

    // MARK: Revocation and introspection

    /// Revokes a token of `client` (RFC 7009 §2.1): a refresh token, or an access token of a session,
    /// ends that session. Anything else (another client's token, an unknown one) changes nothing and
    /// gets the same answer, as §2.2 asks.
    public func revoke(_ token: String, client: OAuthClient, from info: ClientInfo) async throws {
        guard let sessionID = try await sessionOfClientToken(token, client: client) else { return }
        guard try await repository.revokeSession(id: sessionID, at: now()) else { return }
        sessionCache.markRevoked(sessionID)
        let session = try await repository.session(id: sessionID)
        try await audit(
            .oauthTokenRevoked, userID: session?.userID, sessionID: sessionID, client: info,
            details: ["client_id": client.id])
    }

    /// What a token of `client` is (RFC 7662 §2.2), or nil for "not active": a token of another client
    /// is inactive to this one, whatever it is.
    public func introspect(_ token: String, client: OAuthClient) async throws -> [String: IntrospectionValue] {
        let now = now()
        if token.contains("."), let claims = try? await verified(token, now: now).claims,
            claims.clientID == client.id
        {
            if let sessionID = claims.sessionID, let userID = claims.userID {
                guard try await isSessionActive(sessionID, userID: userID, now: now) else { return [:] }
            }
            var answer: [String: IntrospectionValue] = [
                "active": .bool(true), "client_id": .text(client.id), "sub": .text(claims.sub.value),
                "scope": .text(claims.scope ?? ""), "exp": .number(Int(claims.exp.value.timeIntervalSince1970)),
                "iat": .number(Int(claims.iat.value.timeIntervalSince1970)), "iss": .text(claims.iss.value),
                "aud": .text(tokens.audience), "token_type": .text(claims.cnf == nil ? "Bearer" : "DPoP"),
                "jti": .text(claims.jti.value),
            ]
            if let sid = claims.sid { answer["sid"] = .text(sid) }
            if let bound = claims.cnf { answer["cnf"] = .object(["jkt": bound.jkt]) }
            return answer
        }
        guard let record = try await repository.refreshToken(digest: OpaqueSecret.digest(token)),
            record.rotatedAt == nil, record.expiresAt > now,
            let session = try await repository.session(id: record.sessionID), session.revokedAt == nil,
            let application = session.application, application.clientID == client.id
        else { return [:] }
        var answer: [String: IntrospectionValue] = [
            "active": .bool(true), "client_id": .text(client.id), "sub": .text(session.userID.lowercasedString),
            "scope": .text(OAuthClient.Scope.text(application.scopes)),
            "exp": .number(Int(record.expiresAt.timeIntervalSince1970)),
            "iat": .number(Int(record.issuedAt.timeIntervalSince1970)), "iss": .text(tokens.issuer),
            "token_type": .text("refresh_token"), "sid": .text(session.id.lowercasedString),
        ]
        if let bound = application.boundKey { answer["cnf"] = .object(["jkt": bound]) }
        return answer
    }

    public enum IntrospectionValue: Sendable, Equatable {
        case bool(Bool)
        case text(String)
        case number(Int)
        case object([String: String])
    }

    /// The session a token of `client` belongs to: an access token's `sid`, or a refresh token's session.
    private func sessionOfClientToken(_ token: String, client: OAuthClient) async throws -> UUID? {
        if token.contains(".") {
            // An exchanged token (with an actor) rides the session of the token it came from, which is
            // not the exchanging client's to end.
            guard let claims = try? await tokens.verifyAccessToken(token), claims.clientID == client.id,
                claims.act == nil
            else { return nil }
            return claims.sessionID
        }
        guard let record = try await repository.refreshToken(digest: OpaqueSecret.digest(token)),
            let session = try await repository.session(id: record.sessionID),
            session.application?.clientID == client.id
        else { return nil }
        return session.id
    }

    // MARK: UserInfo

    /// The claims about the signed-in person that the token's scopes allow (OIDC Core §5.3, §5.4).
    public func userInfo(for user: AuthenticatedUser) async throws -> [String: IntrospectionValue] {
        guard let delegation = user.delegation, !delegation.isMachine, delegation.scopes.contains(.openid) else {
            throw OAuthError(.insufficientScope, "UserInfo needs a token with the openid scope")
        }
        guard let account = try await repository.account(id: user.userID) else {
            throw OAuthError(.invalidToken, "the account is gone")
        }
        var claims: [String: IntrospectionValue] = ["sub": .text(account.subjectID)]
        if delegation.scopes.contains(.email) {
            claims["email"] = .text(account.email.normalized)
            claims["email_verified"] = .bool(account.emailVerifiedAt != nil)
        }
        if delegation.scopes.contains(.profile), let name = account.displayName { claims["name"] = .text(name) }
        return claims
    }

    /// The client `id` names, read at most once per ``IdentityConfiguration/sessionCheckInterval``.
    func cachedClient(_ id: String) async throws -> OAuthClient? {
        let now = now()
        if let known = clientCache.client(id, now: now) { return known }
        let mark = clientCache.mark
        let client = try await repository.oauthClient(id: id)
        clientCache.record(id, client, now: now, readSince: mark)
        return client
    }
}
