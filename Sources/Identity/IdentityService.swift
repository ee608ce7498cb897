import Crypto
import Foundation
import Kernel
import PQCrypto

/// Accounts, logins, sessions and tokens: the rules of QynAuth, independent of HTTP and of the database.
public final class IdentityService: Sendable {
    let repository: any IdentityRepository
    let hasher: PasswordHasher
    let passwordPolicy: PasswordPolicy
    public let tokens: TokenAuthority
    let masterKey: MasterKey
    /// MACs the browser's session tickets (``IdentityService/webTicket(for:)``).
    let webTicketKey: SymmetricKey
    /// Derives each refresh token's successor from it (``OpaqueSecret/successor(of:key:)``).
    let refreshSuccessorKey: SymmetricKey
    /// MACs the device cookies of clients that have signed in before (``deviceCookie(for:)``).
    let deviceCookieKey: SymmetricKey
    /// Keys the digests of the devices an account has signed in from (``deviceDigest(_:)``).
    let knownDeviceKey: SymmetricKey
    /// MACs the DPoP nonces (``dpopNonce()``).
    let dpopNonceKey: SymmetricKey
    public let configuration: IdentityConfiguration
    let sessionCache: SessionStatusCache
    let verifiedTokens = VerifiedTokenCache()
    let clientCache: OAuthClientCache
    let now: @Sendable () -> Date
    /// Told of every recorded auth event, for metrics.
    let observe: @Sendable (AuthEvent.Kind) -> Void

    public init(
        repository: any IdentityRepository, hasher: PasswordHasher, passwordPolicy: PasswordPolicy = .standard,
        tokens: TokenAuthority, masterKey: MasterKey, configuration: IdentityConfiguration = IdentityConfiguration(),
        now: @escaping @Sendable () -> Date = { Date() },
        observe: @escaping @Sendable (AuthEvent.Kind) -> Void = { _ in }
    ) {
        self.observe = observe
        self.repository = repository
        self.hasher = hasher
        self.passwordPolicy = passwordPolicy
        self.tokens = tokens
        self.masterKey = masterKey
        self.webTicketKey = masterKey.derivedKey(for: "web session ticket")
        self.refreshSuccessorKey = masterKey.derivedKey(for: "refresh token successor")
        self.deviceCookieKey = masterKey.derivedKey(for: "login device cookie")
        self.knownDeviceKey = masterKey.derivedKey(for: "known device")
        self.dpopNonceKey = masterKey.derivedKey(for: "dpop nonce")
        self.configuration = configuration
        self.sessionCache = SessionStatusCache(interval: configuration.sessionCheckInterval)
        self.clientCache = OAuthClientCache(interval: configuration.sessionCheckInterval)
        self.now = now
    }

    // MARK: Accounts

    /// Registers an account and mails it a link to confirm its email; for an email that has an account
    /// already, mails its owner instead and returns nil. Both take the same work (a password hash and a
    /// queued message), so neither the answer nor its time tells whether the email is taken. `locale` is
    /// a language tag or an `Accept-Language` header: the language of the account's mail.
    @discardableResult
    public func register(
        email rawEmail: String, password: String, client: ClientInfo, locale: String? = nil
    ) async throws -> Account? {
        let email = try EmailAddress(rawEmail)
        try passwordPolicy.check(password)
        let hash = try await hasher.hash(password)
        if let owner = try await repository.account(email: email) {
            try await tellOwnerOfRepeatedRegistration(owner, client: client)
            return nil
        }
        let account = Account(
            id: UUID(), email: email, passwordHash: hash, roles: [.user], createdAt: now(),
            locale: Account.language(of: locale))
        let (token, mail) = verificationLink(for: account)
        do {
            try await repository.insertAccount(account, issuing: token, queueing: [mail])
        } catch let error as IdentityError where error == .emailTaken {
            // Registered by someone else a moment ago: the same answer as above.
            guard let owner = try await repository.account(email: email) else { throw error }
            try await tellOwnerOfRepeatedRegistration(owner, client: client)
            return nil
        }
        try await audit(.registered, userID: account.id, client: client)
        return account
    }

    /// Creates an administrator. Only the command line calls this; no route does.
    public func createAdministrator(email rawEmail: String, password: String) async throws -> Account {
        let email = try EmailAddress(rawEmail)
        try passwordPolicy.check(password)
        let account = Account(
            id: UUID(), email: email, passwordHash: try await hasher.hash(password), roles: [.user, .admin],
            createdAt: now(), emailVerifiedAt: now())
        try await repository.insertAccount(account)
        try await audit(.adminCreated, userID: account.id)
        return account
    }

    /// Replaces an account's roles (an operator's act, from the command line): audited with the roles
    /// before and after, and chained into the ledger with the change.
    public func setRoles(of account: Account, to roles: Set<Role>) async throws {
        let names = { (roles: Set<Role>) in roles.map(\.rawValue).sorted().joined(separator: ",") }
        let event = AuthEvent(
            kind: .rolesChanged, at: now(), userID: account.id, sessionID: nil, client: ClientInfo(),
            details: ["from": names(account.roles), "to": names(roles)])
        try await repository.setRoles(userID: account.id, roles: roles, event: event)
        observe(.rolesChanged)
    }

    public func account(id: UUID) async throws -> Account? {
        try await repository.account(id: id)
    }

    public func changePassword(user: AuthenticatedUser, current: String, new: String, client: ClientInfo) async throws {
        let account = try await requireAccount(user.userID)
        try await checkPassword(current, of: account, in: user, client: client)
        try passwordPolicy.check(new)
        try await repository.updatePasswordHash(
            userID: account.id, hash: try await hasher.hash(new), queueing: [passwordChangedNotice(account, at: now())])
        // A changed password ends every other session: whoever knew the old one is out.
        let revoked = try await repository.revokeSessions(userID: account.id, keeping: user.sessionID, at: now())
        revoked.forEach(sessionCache.markRevoked)
        try await audit(.passwordChanged, userID: account.id, sessionID: user.sessionID, client: client)
    }

    public static let maximumDisplayNameLength = 200

    /// What a rectification did: the account as it is now, and whether a link to move it to a new email
    /// address was mailed there (the account moves when the link is followed).
    public struct Rectification: Sendable {
        public var account: Account
        public var emailChangeMailed: Bool
    }

    /// Rectification (GDPR Art. 16, CCPA right to correct): replaces the display name at once (an empty
    /// one removes it), auditing which field changed, never its value; a new email address is mailed a
    /// link that moves the account there (``requestEmailChange(_:to:by:client:)``).
    @discardableResult
    public func rectify(
        _ userID: UUID, email rawEmail: String?, displayName: String?, by actor: UUID, client: ClientInfo
    ) async throws -> Rectification {
        let account = try await requireAccount(userID)
        let email = try rawEmail.map { try EmailAddress($0) }
        let name = displayName.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        if let name, name.count > Self.maximumDisplayNameLength {
            throw IdentityError.invalidField(
                "displayName", "must be at most \(Self.maximumDisplayNameLength) characters")
        }
        var updated = account
        let newName = name.map { $0.isEmpty ? nil : $0 } ?? account.displayName
        if newName != account.displayName {
            let event = AuthEvent(
                kind: .profileRectified, at: now(), userID: userID, client: client,
                details: ["fields": "displayName", "by": actor.lowercasedString])
            try await repository.updateProfile(
                userID: userID, email: account.email, displayName: newName, recording: event)
            observe(event.kind)
            updated.displayName = newName
        }
        guard let email, email.normalized != account.email.normalized else {
            return Rectification(account: updated, emailChangeMailed: false)
        }
        try await requestEmailChange(updated, to: email, by: actor, client: client)
        return Rectification(account: updated, emailChangeMailed: true)
    }

    /// Removes an account for an erasure request: credentials, MFA and refresh tokens deleted, every
    /// session ended. Nothing happens for an account already gone.
    public func eraseAccount(_ userID: UUID, requestedBy staff: UUID) async throws {
        guard let account = try await repository.account(id: userID) else { return }
        let sessions = try await repository.sessions(userID: account.id)
        try await repository.deleteAccount(id: account.id, at: now())
        sessions.map(\.id).forEach(sessionCache.markRevoked)
        try await audit(.accountDeleted, userID: account.id, details: ["by": staff.lowercasedString])
    }

    /// Deleting an account deletes its credentials and ends every session; erasure (a data-subject
    /// request) also destroys the person's data keys.
    public func deleteAccount(user: AuthenticatedUser, password: String, client: ClientInfo) async throws {
        let account = try await requireAccount(user.userID)
        if account.hasPassword {
            try await checkPassword(password, of: account, in: user, client: client)
        } else {
            try await requireRecentAuthentication(user, account: account, password: nil, client: client)
        }
        let sessions = try await repository.sessions(userID: account.id)
        try await repository.deleteAccount(id: account.id, at: now())
        sessions.map(\.id).forEach(sessionCache.markRevoked)
        try await audit(.accountDeleted, userID: account.id, sessionID: user.sessionID, client: client)
    }

    // MARK: Login

    /// Signs in with a password. `deviceCookie` is the one an earlier sign-in to this account gave the
    /// client, if it kept it: see ``throttleKey(email:deviceCookie:)``.
    public func login(
        email rawEmail: String, password: String, rememberMe: Bool, deviceCookie: String? = nil, client: ClientInfo
    ) async throws
        -> LoginOutcome
    {
        let normalized = rawEmail.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        let throttleKey = throttleKey(email: normalized, deviceCookie: deviceCookie)
        try await claimAttempt(key: throttleKey, client: client)
        let account = try? EmailAddress(normalized)
        guard let email = account, let account = try await repository.account(email: email) else {
            // The same work as a wrong password, so time tells nothing either.
            await hasher.verifyDummy(password)
            try await audit(.loginFailed, client: client, details: ["reason": "credentials"])
            throw IdentityError.invalidCredentials
        }
        guard account.hasPassword else {
            // Passkeys only: the same work as a wrong password, so time does not tell.
            await hasher.verifyDummy(password)
            try await audit(.loginFailed, userID: account.id, client: client, details: ["reason": "credentials"])
            throw IdentityError.invalidCredentials
        }
        guard case .valid(let needsRehash) = await hasher.verify(password, against: account.passwordHash) else {
            try await audit(.loginFailed, userID: account.id, client: client, details: ["reason": "credentials"])
            throw IdentityError.invalidCredentials
        }
        if needsRehash {
            try await repository.updatePasswordHash(userID: account.id, hash: try await hasher.hash(password))
            try await audit(.passwordRehashed, userID: account.id, client: client)
        }
        // Only after the right password: telling a stranger that an account waits for confirmation
        // would tell them it exists.
        if configuration.unverifiedAccess == .closed, account.emailVerifiedAt == nil {
            throw IdentityError.emailUnverified
        }
        if account.mfaEnabled {
            try await repository.clearLoginThrottle(key: throttleKey)
            let challenge = try await tokens.issueMFAChallenge(userID: account.id, rememberMe: rememberMe, now: now())
            try await audit(.mfaChallenged, userID: account.id, client: client)
            let passkeys = try await !repository.passkeys(userID: account.id).isEmpty
            return .mfaRequired(challenge: challenge, passkeys: passkeys)
        }
        return .authenticated(
            try await startSession(
                account, methods: ["pwd"], rememberMe: rememberMe, client: client, clearingThrottle: throttleKey))
    }

    public func completeMFALogin(challenge: String, code: String, client: ClientInfo) async throws -> TokenGrant {
        let claims = try await tokens.verifyMFAChallenge(challenge)
        guard let userID = UUID(uuidString: claims.sub.value) else { throw IdentityError.invalidToken("malformed") }
        let account = try await requireAccount(userID)
        try await verifySecondFactor(code, account: account, client: client)
        // A mistyped code leaves the challenge usable; a session made from it uses it up, everywhere.
        guard try await repository.spendChallenge(id: claims.jti.value, expiresAt: claims.exp.value) else {
            throw IdentityError.invalidToken("the MFA challenge has been used already")
        }
        return try await startSession(
            account, methods: ["pwd", "otp"], rememberMe: claims.rememberMe, client: client)
    }

    func startSession(
        _ account: Account, methods: [String], rememberMe: Bool, client: ClientInfo, clearingThrottle: String? = nil
    ) async throws
        -> TokenGrant
    {
        let now = now()
        let session = Session(
            id: UUID(), userID: account.id, createdAt: now, lastUsedAt: now, client: client, rememberMe: rememberMe,
            authenticationMethods: methods)
        let refreshToken = OpaqueSecret.generateToken()
        let record = RefreshTokenRecord(
            digest: OpaqueSecret.digest(refreshToken), sessionID: session.id, userID: account.id, issuedAt: now,
            expiresAt: now.addingTimeInterval(refreshLifetime(rememberMe: rememberMe)))
        let access = try await tokens.issueAccessToken(
            account: account, sessionID: session.id, methods: methods, now: now)
        let event = AuthEvent(
            kind: .loginSucceeded, at: now, userID: account.id, sessionID: session.id, client: client,
            details: ["amr": methods.joined(separator: " ")])
        let device = try await repository.rememberDevice(userID: account.id, digest: deviceDigest(client), at: now)
        // The first device is the one that registered; a notice of it would tell the person nothing.
        let notices =
            device.isNew && device.hadOthers && !account.mutedNotices.contains(.newSignIn)
            ? [notice(.newSignIn, to: account, client: client)] : []
        try await repository.insertSession(
            session, firstToken: record, recording: [event], clearingThrottle: clearingThrottle, queueing: notices)
        observe(event.kind)
        return TokenGrant(
            account: account, sessionID: session.id, accessToken: access.token, accessTokenExpiresAt: access.expiresAt,
            refreshToken: refreshToken, refreshTokenExpiresAt: record.expiresAt, rememberMe: rememberMe,
            deviceCookie: deviceCookie(for: account.email.normalized))
    }

    func refreshLifetime(rememberMe: Bool) -> TimeInterval {
        rememberMe ? configuration.rememberMeRefreshTokenLifetime : configuration.refreshTokenLifetime
    }

    // MARK: Shared checks

    func requireAccount(_ id: UUID) async throws -> Account {
        guard let account = try await repository.account(id: id) else { throw IdentityError.invalidCredentials }
        return account
    }

    /// How long after signing in a person may change where their mail goes, or add a second factor,
    /// without giving their password again.
    public static let stepUpWindow: TimeInterval = 5 * 60

    /// Fresh proof of the person before a change that would let whoever holds a stolen session keep the
    /// account: their current password now, or a sign-in within ``stepUpWindow``.
    func requireRecentAuthentication(
        _ user: AuthenticatedUser, account: Account, password: String?, client: ClientInfo
    ) async throws {
        if let password { return try await checkPassword(password, of: account, in: user, client: client) }
        guard let session = try await repository.session(id: user.sessionID),
            now().timeIntervalSince(session.createdAt) <= Self.stepUpWindow
        else { throw IdentityError.recentAuthenticationRequired }
    }

    /// A person correcting their own profile (GDPR Art. 16). A new email address needs fresh proof of
    /// them (``requireRecentAuthentication(_:account:password:client:)``); a display name does not.
    public func rectifyOwn(
        _ user: AuthenticatedUser, email: String?, displayName: String?, currentPassword: String?, client: ClientInfo
    ) async throws -> Rectification {
        let account = try await requireAccount(user.userID)
        if let email, (try? EmailAddress(email))?.normalized != account.email.normalized {
            try await requireRecentAuthentication(user, account: account, password: currentPassword, client: client)
        }
        return try await rectify(user.userID, email: email, displayName: displayName, by: user.userID, client: client)
    }

    /// Attempts are counted per session, not against the account: a stolen session gets no more guesses
    /// than before, and someone locking the account from outside cannot keep its owner from changing it.
    func checkPassword(
        _ password: String, of account: Account, in user: AuthenticatedUser, client: ClientInfo
    )
        async throws
    {
        let key = "reauthentication:" + user.sessionID.uuidString
        try await claimAttempt(key: key, client: client)
        guard case .valid = await hasher.verify(password, against: account.passwordHash) else {
            try await audit(.loginFailed, userID: account.id, client: client, details: ["reason": "reauthentication"])
            throw IdentityError.invalidCredentials
        }
        try await repository.clearLoginThrottle(key: key)
    }

    func claimAttempt(key: String, client: ClientInfo) async throws {
        let policy = configuration.loginThrottle
        let now = now()
        let decision = try await repository.updateLoginThrottle(key: key) { policy.claim($0, now: now) }
        if case .refuse(let retryAfter) = decision {
            try await audit(.loginThrottled, client: client)
            throw IdentityError.tooManyAttempts(retryAfter: retryAfter)
        }
    }

    /// Every auth event is recorded; if the record cannot be written, the operation reports the outage.
    func audit(
        _ kind: AuthEvent.Kind, userID: UUID? = nil, sessionID: UUID? = nil, client: ClientInfo = ClientInfo(),
        details: [String: String] = [:]
    ) async throws {
        let event = AuthEvent(
            kind: kind, at: now(), userID: userID, sessionID: sessionID, client: client, details: details)
        try await repository.appendAuthEvent(event)
        observe(kind)
    }

    public func authEvents(userID: UUID?, limit: Int = 100) async throws -> [AuthEvent] {
        try await repository.authEvents(userID: userID, limit: limit)
    }
}

extension IdentityService {
    public func recordKeyRotation(keyID: String) async throws {
        try await audit(.signingKeyRotated, details: ["kid": keyID])
    }

    /// Loads the signing keys, creating (and auditing) the first one on a new database.
    public func loadSigningKeys() async throws {
        if let created = try await tokens.keyRing.load() {
            try await audit(.signingKeyCreated, details: ["kid": created, "alg": tokens.keyRing.algorithm.rawValue])
        }
        for ring in tokens.idTokenRings { try await ring.load(creatingIfNone: false) }
    }
}
