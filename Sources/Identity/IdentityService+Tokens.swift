import Foundation
import Kernel
import PQCrypto

extension IdentityService {
    /// Checks an access token and that its session is still active. Repeated checks of one token skip the
    /// signature (the verified-token cache); the session check is cached for `sessionCheckInterval` at most.
    public func authenticate(accessToken: String) async throws -> AuthenticatedUser {
        let now = now()
        let user = try await verified(accessToken, now: now).user
        if let delegation = user.delegation, delegation.isMachine {
            guard try await isClientActive(delegation.clientID, key: user.sessionID, now: now) else {
                throw IdentityError.invalidToken("the client is no longer registered")
            }
        } else if try await !isSessionActive(user.sessionID, userID: user.userID, now: now) {
            throw IdentityError.invalidToken("the session has ended")
        }
        return user
    }

    /// The token's claims and caller, verified once per process (the signature, expiry and not-before)
    /// and then read from the cache, whose entries are good only between the token's not-before and
    /// expiry.
    func verified(_ accessToken: String, now: Date) async throws -> VerifiedTokenCache.Entry {
        let cacheKey = VerifiedTokenCache.key(for: accessToken)
        if let cached = verifiedTokens.entry(for: cacheKey, now: now) { return cached }
        let claims = try await tokens.verifyAccessToken(accessToken)
        var principal = try Self.principal(of: claims)
        principal.boundKey = claims.cnf?.jkt
        let entry = VerifiedTokenCache.Entry(user: principal, claims: claims)
        verifiedTokens.insert(entry, for: cacheKey)
        return entry
    }

    static func principal(of claims: AccessTokenClaims) throws(IdentityError) -> AuthenticatedUser {
        let scopes = Set(
            (claims.scope ?? "").split(separator: " ").compactMap { OAuthClient.Scope(rawValue: String($0)) })
        guard let clientID = claims.clientID else {
            guard let userID = claims.userID, let sessionID = claims.sessionID else {
                throw IdentityError.invalidToken("the token is malformed")
            }
            return AuthenticatedUser(
                userID: userID, sessionID: sessionID, roles: Set(claims.roles.compactMap(Role.init(rawValue:))),
                authenticationMethods: claims.amr)
        }
        guard let userID = claims.userID, let sessionID = claims.sessionID else {
            guard let machine = AuthenticatedUser.machine(clientID: clientID, scopes: scopes) else {
                throw IdentityError.invalidToken("the token is malformed")
            }
            return machine
        }
        return AuthenticatedUser(
            userID: userID, sessionID: sessionID, roles: Set(claims.roles.compactMap(Role.init(rawValue:))),
            authenticationMethods: claims.amr,
            delegation: Delegation(clientID: clientID, scopes: scopes, isMachine: false))
    }

    /// Whether a machine client is still registered; cached like a session's status, under `key`.
    func isClientActive(_ clientID: String, key: UUID, now: Date) async throws -> Bool {
        if let known = sessionCache.status(of: key, now: now) { return known }
        let active = try await repository.oauthClient(id: clientID) != nil
        sessionCache.record(key, active: active, now: now)
        return active
    }

    func isSessionActive(_ sessionID: UUID, userID: UUID, now: Date) async throws -> Bool {
        if let known = sessionCache.status(of: sessionID, now: now) { return known }
        let session = try await repository.session(id: sessionID)
        let active = session.map { $0.revokedAt == nil && $0.userID == userID } ?? false
        sessionCache.record(sessionID, active: active, now: now)
        if active, let session, now.timeIntervalSince(session.lastUsedAt) > 60 {
            try await repository.touchSession(id: sessionID, at: now)
        }
        return active
    }

    /// Exchanges a refresh token for a new pair. A token used again inside the grace window answers with the
    /// same successor; used again outside it, it ends its session.
    public func refresh(refreshToken: String, client: ClientInfo) async throws -> TokenGrant {
        let rotation = try await rotate(refreshToken, application: nil, key: nil, client: client)
        let access = try await tokens.issueAccessToken(
            account: rotation.account, sessionID: rotation.session.id,
            methods: rotation.session.authenticationMethods, now: rotation.now)
        return TokenGrant(
            account: rotation.account, sessionID: rotation.session.id, accessToken: access.token,
            accessTokenExpiresAt: access.expiresAt, refreshToken: rotation.token,
            refreshTokenExpiresAt: rotation.expiresAt, rememberMe: rotation.session.rememberMe)
    }

    struct Rotation {
        let account: Account
        let session: Session
        let token: String
        let expiresAt: Date
        let now: Date
    }

    /// Rotates a refresh token of a session of `application` (nil: QSPP's own clients). A token of
    /// another client's session is unknown here, whoever presents it.
    func rotate(_ refreshToken: String, application: String?, key: String?, client: ClientInfo) async throws -> Rotation
    {
        let now = now()
        let successorToken = OpaqueSecret.successor(of: refreshToken, key: refreshSuccessorKey)
        let successorDigest = OpaqueSecret.digest(successorToken)
        let configuration = configuration
        let plan = try await repository.exchangeRefreshToken(digest: OpaqueSecret.digest(refreshToken), at: now) {
            record, session in
            guard let record, let session, session.revokedAt == nil, record.expiresAt > now,
                session.application?.clientID == application,
                session.application?.boundKey == nil || session.application?.boundKey == key
            else { return .reject }
            let lifetime =
                session.rememberMe
                ? configuration.rememberMeRefreshTokenLifetime : configuration.refreshTokenLifetime
            func successor(issuedAt: Date) -> RefreshTokenRecord {
                RefreshTokenRecord(
                    digest: successorDigest, sessionID: session.id, userID: session.userID, issuedAt: issuedAt,
                    expiresAt: issuedAt.addingTimeInterval(lifetime))
            }
            guard let rotatedAt = record.rotatedAt else {
                return .rotate(successor: successor(issuedAt: now), countsAsGraceReuse: false)
            }
            // A retry inside the grace window gets the successor stored at the rotation, so the family
            // stays one chain that reuse detection sees whole.
            if now.timeIntervalSince(rotatedAt) <= configuration.refreshGraceWindow,
                record.graceReuses < configuration.maximumGraceReuses
            {
                return .rotate(successor: successor(issuedAt: rotatedAt), countsAsGraceReuse: true)
            }
            return .revokeFamily(sessionID: session.id)
        }
        switch plan {
        case .reject:
            throw IdentityError.invalidRefreshToken
        case .revokeFamily(let sessionID):
            sessionCache.markRevoked(sessionID)
            let session = try await repository.session(id: sessionID)
            try await audit(.refreshReuseDetected, userID: session?.userID, sessionID: sessionID, client: client)
            throw IdentityError.refreshTokenReused
        case .rotate(let successor, let inGrace):
            guard let account = try await repository.account(id: successor.userID),
                let session = try await repository.session(id: successor.sessionID)
            else { throw IdentityError.invalidRefreshToken }
            try await audit(
                inGrace ? .refreshReuseInGrace : .refreshed, userID: account.id, sessionID: successor.sessionID,
                client: client)
            return Rotation(
                account: account, session: session, token: successorToken, expiresAt: successor.expiresAt, now: now)
        }
    }

    /// Deletes expired refresh tokens, finished attempt counters and old rate-limit windows, so that
    /// an attacker cycling through made-up emails or addresses cannot grow the tables without bound.
    public func purgeExpired() async throws -> Int {
        try await repository.purgeExpired(now: now(), throttleWindow: configuration.loginThrottle.window)
    }

    // MARK: Sessions

    public func logout(user: AuthenticatedUser, everywhere: Bool, client: ClientInfo) async throws {
        if everywhere {
            let revoked = try await repository.revokeSessions(userID: user.userID, keeping: nil, at: now())
            revoked.forEach(sessionCache.markRevoked)
            sessionCache.markRevoked(user.sessionID)
            try await audit(.logoutAll, userID: user.userID, sessionID: user.sessionID, client: client)
        } else {
            _ = try await repository.revokeSession(id: user.sessionID, at: now())
            sessionCache.markRevoked(user.sessionID)
            try await audit(.logout, userID: user.userID, sessionID: user.sessionID, client: client)
        }
    }

    /// Ends the session a refresh token belongs to, for clients that log out with the cookie alone.
    public func logout(refreshToken: String, client: ClientInfo) async throws {
        let plan = try await repository.exchangeRefreshToken(digest: OpaqueSecret.digest(refreshToken), at: now()) {
            record, session in
            guard let record, let session, session.revokedAt == nil else { return .reject }
            return .revokeFamily(sessionID: record.sessionID)
        }
        guard case .revokeFamily(let sessionID) = plan else { return }
        sessionCache.markRevoked(sessionID)
        try await audit(.logout, sessionID: sessionID, client: client)
    }

    public func sessions(of userID: UUID) async throws -> [Session] {
        try await repository.sessions(userID: userID).filter { $0.revokedAt == nil && $0.application == nil }
    }

    /// Revokes one session of `owner`. Someone else's session id answers exactly like an unknown one.
    public func revokeSession(
        _ sessionID: UUID, owner: UUID, by requester: AuthenticatedUser, client: ClientInfo
    )
        async throws
    {
        guard requester.userID == owner || requester.isAdmin else { throw IdentityError.sessionNotFound }
        guard let session = try await repository.session(id: sessionID), session.userID == owner,
            session.revokedAt == nil, try await repository.revokeSession(id: sessionID, at: now())
        else { throw IdentityError.sessionNotFound }
        sessionCache.markRevoked(sessionID)
        try await audit(
            .sessionRevoked, userID: owner, sessionID: sessionID, client: client,
            details: ["by": requester.userID.lowercasedString])
    }

    /// An administrator ends every session of a user.
    public func revokeAllSessions(
        of userID: UUID, by requester: AuthenticatedUser, client: ClientInfo
    ) async throws
        -> Int
    {
        guard requester.isAdmin else { throw IdentityError.forbidden }
        let revoked = try await repository.revokeSessions(userID: userID, keeping: nil, at: now())
        revoked.forEach(sessionCache.markRevoked)
        try await audit(
            .logoutAll, userID: userID, client: client, details: ["by": requester.userID.lowercasedString])
        return revoked.count
    }

    /// Records an account holder's own act that has no other record of its own (a website visitor's
    /// history taken over), in the audit log and the ledger.
    public func recordOwnAction(
        _ kind: AuthEvent.Kind, by user: AuthenticatedUser, details: [String: String], client: ClientInfo
    ) async throws {
        try await audit(kind, userID: user.userID, sessionID: user.sessionID, client: client, details: details)
    }

    /// Records an admin's act that has no other record of its own (queueing a dead message again), in
    /// the audit log and the ledger, under the admin's account.
    public func recordStaffAction(
        _ kind: AuthEvent.Kind, by requester: AuthenticatedUser, details: [String: String], client: ClientInfo
    ) async throws {
        guard requester.isAdmin else { throw IdentityError.forbidden }
        try await audit(
            kind, userID: requester.userID, sessionID: requester.sessionID, client: client, details: details)
    }
}
