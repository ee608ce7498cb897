import Foundation
import Identity
import Kernel
import Outbox
import PQCrypto
import Synchronization

/// `IdentityRepository` in memory, with the semantics of `SQLIdentityRepository`:
///
/// - accounts are unique by id and by normalised email (the blind index is taken of the lower-cased,
///   trimmed address, so `Alice@Example.com` and `alice@example.com` are one account); a clash is
///   `IdentityError.emailTaken`, and so is any other uniqueness clash inside `updateProfile`, as its
///   SQL maps every unique violation of its transaction to it. A new account is stored as the INSERT
///   stores it: no display name, no TOTP secret, MFA off, whatever the `Account` given says;
/// - TOTP steps only move forward from 0, recovery codes are single-use, and `updateMFA` replaces the
///   codes (a code for no account, or one given twice, is refused like the foreign and primary keys);
/// - sessions keep their refresh tokens as one family: revoking a session deletes every token of it,
///   an exchange applies exactly what `decide` chose under one lock (a successor whose digest exists
///   already is refused and nothing changes), and deleting an account revokes its sessions and deletes
///   its tokens, codes and row;
/// - a login throttle row is created at zero (window start 1970) before `decide` sees it, so `decide`
///   never gets nil, as the SQL upsert never returns no row; rate-limit windows reset when the window
///   start differs; `purgeExpired` deletes by the same comparisons as the SQL;
/// - a new signing key retires the active keys of its algorithm only; a key id is unique;
/// - audit records are numbered by a sequence, their ids are unique, and every write that records
///   events (`appendAuthEvent`, `insertSession`, `setRoles`, `updateProfile`) writes one ledger entry
///   per event, `auth:<event id>`, in the same lock. Times are kept to the microsecond, as both
///   backends keep them.
///
/// Personal fields (emails, display names, the client addresses and agents of sessions and audit
/// records) are sealed, as the vault seals them, under a data key of their subject (an account's id,
/// or `unattributed` for an audit record of no account) taken from the `InMemoryErasureRepository`
/// given at creation: once that repository erases the subject they read back as nothing, as after
/// crypto-shredding (an account's email then fails to read as an email, as the SQL row does). Without
/// one, keys are never destroyed.
///
/// Signing keys and TOTP secrets are rows of this repository, as they are rows of `signing_keys` and
/// `accounts` in SQL; an `InMemorySealedKeyRepository` created with this repository re-seals them here.
public final class InMemoryIdentityRepository: IdentityRepository, Sendable {
    /// The subject whose keys seal audit records of no known account.
    public static let unattributed = "unattributed"

    /// A field sealed under a data key of its subject: readable while that key exists.
    private struct Sealed {
        var value: String
        /// The data key; nil without an erasure repository, when no key is ever destroyed.
        var key: UUID?
    }

    private struct AccountRow {
        var id: UUID
        var email: Sealed
        /// The blind index's input: the normalised email.
        var emailIndex: String
        var passwordHash: String
        var roles: Set<Role>
        var createdAt: Date
        var totpSecret: Data?
        var mfaEnabled: Bool
        var totpLastStep: Int64
        var displayName: Sealed?
        var locale: String?
        var emailVerifiedAt: Date?
        var mutedNotices: Set<MailTemplateName> = []
    }

    private struct SessionRow {
        var id: UUID
        var userID: UUID
        var createdAt: Date
        var lastUsedAt: Date
        var ip: Sealed?
        var agent: Sealed?
        var revokedAt: Date?
        var rememberMe: Bool
        /// As the `amr` column keeps it: the methods joined by spaces.
        var amr: String
        var application: Session.Application?
    }

    private struct EventRow {
        var sequence: Int64
        var id: UUID
        var kind: AuthEvent.Kind
        var occurredAt: Date
        var userID: UUID?
        var sessionID: UUID?
        var ip: Sealed?
        var agent: Sealed?
        var details: [String: String]
    }

    private struct RecoveryCode {
        var usedAt: Date?
    }

    private struct State {
        var accounts: [UUID: AccountRow] = [:]
        /// Each user's recovery codes by digest.
        var recoveryCodes: [UUID: [String: RecoveryCode]] = [:]
        var sessions: [UUID: SessionRow] = [:]
        /// Session ids in insertion order, for a stable order where the SQL names none.
        var sessionOrder: [UUID] = []
        var refreshTokens: [String: RefreshTokenRecord] = [:]
        var throttles: [String: LoginThrottleState] = [:]
        var rateLimits: [String: (windowStart: Int64, hits: Int)] = [:]
        var spentChallenges: [String: Date] = [:]
        /// In insertion order.
        var signingKeys: [StoredSigningKey] = []
        /// The audit log in sequence order.
        var events: [EventRow] = []
        var nextSequence: Int64 = 1
        var ledger: [String] = []
        var accountTokens: [String: (token: AccountToken, usedAt: Date?)] = [:]
        /// Mail queued by the writes, in order, as the outbox would hold it before sending.
        var queuedMail: [OutboundMail] = []
        var knownDevices: [UUID: Set<String>] = [:]
        var passkeys: [Data: Passkey] = [:]
        var passkeyChallenges: [String: PasskeyChallenge] = [:]
        /// Every client ever registered, with when it was deleted.
        var oauthClients: [String: (client: OAuthClient, deletedAt: Date?)] = [:]
        var authorizationCodes: [String: (code: AuthorizationCode, spentAt: Date?, sessionID: UUID?)] = [:]
        /// Keyed by user id and client id.
        var grants: [String: OAuthGrant] = [:]
        var pushedRequests: [String: PushedRequest] = [:]
        /// Keyed by session id, oldest first by `createdAt`.
        var logoutNotices: [UUID: QueuedLogoutNotice] = [:]

        struct QueuedLogoutNotice {
            var clientID: String
            var userID: UUID
            var createdAt: Date
            var nextAttemptAt: Date
            var attempts = 0
            var dead = false
            var lease: UUID?
            var leasedUntil: Date?
            var lastError: String?
        }

        /// What the SQL does in the transaction that ends application sessions.
        mutating func queueLogoutNotices(for ids: [UUID], at date: Date) {
            for id in ids where logoutNotices[id] == nil {
                guard let session = sessions[id], let clientID = session.application?.clientID,
                    let client = oauthClients[clientID], client.deletedAt == nil,
                    client.client.backChannelLogoutURI != nil
                else { continue }
                logoutNotices[id] = QueuedLogoutNotice(
                    clientID: clientID, userID: session.userID, createdAt: date, nextAttemptAt: date)
            }
        }

        /// What `revoke` does in SQL: marks the session revoked if it is active, and deletes every
        /// refresh token of it either way. True when it was active.
        mutating func revoke(_ id: UUID, at date: Date) -> Bool {
            var revoked = false
            var ended: [UUID] = []
            if var session = sessions[id], session.revokedAt == nil {
                session.revokedAt = date
                sessions[id] = session
                revoked = true
                ended.append(id)
            }
            refreshTokens = refreshTokens.filter { $0.value.sessionID != id }
            // The application sessions started from it end with it.
            for (child, session) in sessions
            where session.application?.parentSessionID == id && session.revokedAt == nil {
                sessions[child]?.revokedAt = date
                refreshTokens = refreshTokens.filter { $0.value.sessionID != child }
                ended.append(child)
            }
            spendCodes { $0.webSessionID == id }
            queueLogoutNotices(for: ended, at: date)
            return revoked
        }

        mutating func spendCodes(where matches: (AuthorizationCode) -> Bool) {
            for (digest, entry) in authorizationCodes where entry.spentAt == nil && matches(entry.code) {
                authorizationCodes[digest]?.spentAt = Date()
            }
        }

        /// What inserting a refresh token stores: never rotated, no grace reuses yet.
        mutating func insert(_ token: RefreshTokenRecord) {
            refreshTokens[token.digest] = RefreshTokenRecord(
                digest: token.digest, sessionID: token.sessionID, userID: token.userID,
                issuedAt: token.issuedAt.roundedToMicroseconds, expiresAt: token.expiresAt.roundedToMicroseconds)
        }

        /// Refuses, before anything is written, events whose ids are stored already or repeat.
        func checkNew(_ events: [AuthEvent]) throws {
            var seen = Set(self.events.map(\.id))
            for event in events {
                guard seen.insert(event.id).inserted else {
                    throw InMemoryConstraintViolation("auth_events.id must be unique")
                }
            }
        }
    }

    private let erasures: InMemoryErasureRepository?
    private let state = Mutex(State())

    /// With `erasures`, personal fields are sealed under its data keys and erasing a subject there
    /// makes theirs unreadable here.
    public init(erasures: InMemoryErasureRepository? = nil) {
        self.erasures = erasures
    }

    // MARK: What tests inspect

    /// The references of the ledger entries written, oldest first (`auth:<event id>`).
    public var ledgerReferences: [String] {
        state.withLock { $0.ledger }
    }

    /// The mail the writes queued, oldest first.
    public var queuedMail: [OutboundMail] {
        state.withLock { $0.queuedMail }
    }

    /// The refresh tokens of a session still stored, oldest first.
    public func refreshTokens(sessionID: UUID) -> [RefreshTokenRecord] {
        state.withLock { state in
            state.refreshTokens.values.filter { $0.sessionID == sessionID }.sorted { $0.issuedAt < $1.issuedAt }
        }
    }

    /// The stored attempt counter of `key`, if there is one.
    public func loginThrottle(key: String) -> LoginThrottleState? {
        state.withLock { $0.throttles[key] }
    }

    // MARK: Sealing

    private func seal(_ value: String, subject: String) -> Sealed {
        Sealed(value: value, key: erasures?.writingKey(subject: subject))
    }

    /// Nothing to seal, no key used: as the vault seals a NULL.
    private func seal(_ value: String?, subject: String) -> Sealed? {
        value.map { seal($0, subject: subject) }
    }

    private func open(_ sealed: Sealed?) -> String? {
        guard let sealed else { return nil }
        if let key = sealed.key, erasures?.holds(key: key) != true { return nil }
        return sealed.value
    }

    private func account(_ row: AccountRow, _ state: State) throws -> Account {
        Account(
            id: row.id, email: try EmailAddress(open(row.email) ?? ""), passwordHash: row.passwordHash,
            roles: row.roles, createdAt: row.createdAt, sealedTOTPSecret: row.totpSecret, mfaEnabled: row.mfaEnabled,
            recoveryCodesRemaining: state.recoveryCodes[row.id]?.values.filter { $0.usedAt == nil }.count ?? 0,
            displayName: open(row.displayName), locale: row.locale, emailVerifiedAt: row.emailVerifiedAt,
            mutedNotices: row.mutedNotices)
    }

    private func session(_ row: SessionRow) -> Session {
        Session(
            id: row.id, userID: row.userID, createdAt: row.createdAt, lastUsedAt: row.lastUsedAt,
            client: ClientInfo(ipAddress: open(row.ip), userAgent: open(row.agent)), revokedAt: row.revokedAt,
            rememberMe: row.rememberMe, authenticationMethods: row.amr.split(separator: " ").map(String.init),
            application: row.application)
    }

    private func event(_ row: EventRow) -> AuthEvent {
        AuthEvent(
            id: row.id, kind: row.kind, occurredAt: row.occurredAt, userID: row.userID, sessionID: row.sessionID,
            client: ClientInfo(ipAddress: open(row.ip), userAgent: open(row.agent)), details: row.details)
    }

    /// Stores an audit record with its ledger entry; `checkNew` has already passed.
    // MARK: Passkeys

    public func insertPasskeyChallenge(_ challenge: PasskeyChallenge) async throws {
        state.withLock { state in
            state.passkeyChallenges[challenge.digest] = PasskeyChallenge(
                digest: challenge.digest, purpose: challenge.purpose, userID: challenge.userID,
                expiresAt: challenge.expiresAt.roundedToMicroseconds)
        }
    }

    public func takePasskeyChallenge(
        digest: String, purpose: PasskeyChallenge.Purpose
    ) async throws -> PasskeyChallenge? {
        state.withLock { state in
            guard let challenge = state.passkeyChallenges[digest], challenge.purpose == purpose else { return nil }
            state.passkeyChallenges[digest] = nil
            return challenge
        }
    }

    public func insertPasskey(
        _ passkey: Passkey, recording event: AuthEvent, queueing mail: [OutboundMail]
    ) async throws {
        try state.withLock { state in
            guard state.accounts[passkey.userID] != nil else {
                throw InMemoryConstraintViolation("passkeys.user_id must name an account")
            }
            guard state.passkeys[passkey.id] == nil else { throw IdentityError.passkeyExists }
            try state.checkNew([event])
            let stored = Passkey(
                id: passkey.id, userID: passkey.userID, name: passkey.name, publicKey: passkey.publicKey,
                algorithm: passkey.algorithm, signCount: passkey.signCount, backupEligible: passkey.backupEligible,
                backedUp: passkey.backedUp, aaguid: passkey.aaguid, attestation: passkey.attestation,
                attestationFormat: passkey.attestationFormat, createdAt: passkey.createdAt.roundedToMicroseconds,
                lastUsedAt: passkey.lastUsedAt?.roundedToMicroseconds)
            state.passkeys[passkey.id] = stored
            append(event, &state)
            state.queuedMail += mail
        }
    }

    public func passkey(id: Data) async throws -> Passkey? {
        state.withLock { $0.passkeys[id] }
    }

    public func passkeys(userID: UUID) async throws -> [Passkey] {
        state.withLock { state in
            state.passkeys.values.filter { $0.userID == userID }.sorted {
                ($0.createdAt, Base64URL.encode($0.id)) < ($1.createdAt, Base64URL.encode($1.id))
            }
        }
    }

    public func recordPasskeyUse(id: Data, signCount: UInt32, backedUp: Bool, at date: Date) async throws -> Bool {
        state.withLock { state in
            guard var passkey = state.passkeys[id],
                passkey.signCount < signCount || (passkey.signCount == 0 && signCount == 0)
            else { return false }
            passkey.signCount = signCount
            passkey.backedUp = backedUp
            passkey.lastUsedAt = date.roundedToMicroseconds
            state.passkeys[id] = passkey
            return true
        }
    }

    // MARK: OAuth clients

    public func insertOAuthClient(_ client: OAuthClient, recording event: AuthEvent) async throws {
        try state.withLock { state in
            try state.checkNew([event])
            // The primary key: an id is never given out twice, deleted or not.
            guard state.oauthClients[client.id] == nil else { throw IdentityError.invalidField("id", "is taken") }
            // Kept to the microsecond, as both backends keep times.
            let stored = OAuthClient(
                id: client.id, name: client.name, kind: client.kind, authentication: client.authentication,
                secretDigest: client.secretDigest, redirectURIs: client.redirectURIs, grantTypes: client.grantTypes,
                scopes: client.scopes, backChannelLogoutURI: client.backChannelLogoutURI,
                requiresPushedRequests: client.requiresPushedRequests, idTokenAlgorithm: client.idTokenAlgorithm,
                createdAt: Date(microsecondsSince1970: client.createdAt.microsecondsSince1970),
                createdBy: client.createdBy)
            state.oauthClients[client.id] = (stored, nil)
            append(event, &state)
        }
    }

    public func oauthClients() async throws -> [OAuthClient] {
        state.withLock { state in
            state.oauthClients.values.filter { $0.deletedAt == nil }.map(\.client).sorted {
                ($0.createdAt, $0.id) < ($1.createdAt, $1.id)
            }
        }
    }

    public func oauthClient(id: String) async throws -> OAuthClient? {
        state.withLock { state in state.oauthClients[id].flatMap { $0.deletedAt == nil ? $0.client : nil } }
    }

    public func replaceOAuthClientSecret(id: String, digest: String, recording event: AuthEvent) async throws -> Bool {
        try state.withLock { state in
            guard var stored = state.oauthClients[id], stored.deletedAt == nil else { return false }
            try state.checkNew([event])
            stored.client.secretDigest = digest
            state.oauthClients[id] = stored
            append(event, &state)
            return true
        }
    }

    public func deleteOAuthClient(id: String, at date: Date, recording event: AuthEvent) async throws -> Bool {
        try state.withLock { state in
            guard var stored = state.oauthClients[id], stored.deletedAt == nil else { return false }
            try state.checkNew([event])
            stored.client.secretDigest = nil
            stored.deletedAt = Date(microsecondsSince1970: date.microsecondsSince1970)
            state.oauthClients[id] = stored
            // What the client held ends with it: grants, unspent codes, sessions.
            state.grants = state.grants.filter { $0.value.clientID != id }
            state.spendCodes { $0.clientID == id }
            for (sessionID, session) in state.sessions where session.application?.clientID == id {
                _ = state.revoke(sessionID, at: date.roundedToMicroseconds)
            }
            append(event, &state)
            return true
        }
    }

    public func renamePasskey(id: Data, userID: UUID, name: String) async throws -> Bool {
        state.withLock { state in
            guard var passkey = state.passkeys[id], passkey.userID == userID else { return false }
            passkey.name = name
            state.passkeys[id] = passkey
            return true
        }
    }

    public func deletePasskey(
        id: Data, userID: UUID, recording event: AuthEvent, queueing mail: [OutboundMail]
    ) async throws -> PasskeyDeletion {
        try state.withLock { state in
            guard let passkey = state.passkeys[id], passkey.userID == userID, let account = state.accounts[userID]
            else { return .notFound }
            if account.passwordHash.isEmpty, state.passkeys.values.filter({ $0.userID == userID }).count == 1 {
                return .lastSignInMethod
            }
            try state.checkNew([event])
            state.passkeys[id] = nil
            append(event, &state)
            state.queuedMail += mail
            return .deleted
        }
    }

    public func removePassword(
        userID: UUID, recording event: AuthEvent, queueing mail: [OutboundMail]
    ) async throws -> Bool {
        try state.withLock { state in
            guard state.accounts[userID] != nil, state.passkeys.values.contains(where: { $0.userID == userID })
            else { return false }
            try state.checkNew([event])
            state.accounts[userID]?.passwordHash = ""
            append(event, &state)
            state.queuedMail += mail
            return true
        }
    }

    private func append(_ event: AuthEvent, _ state: inout State) {
        let subject = event.userID?.lowercasedString ?? Self.unattributed
        state.events.append(
            EventRow(
                sequence: state.nextSequence, id: event.id, kind: event.kind,
                occurredAt: event.occurredAt.roundedToMicroseconds, userID: event.userID, sessionID: event.sessionID,
                ip: seal(event.client.ipAddress, subject: subject),
                agent: seal(event.client.userAgent, subject: subject), details: event.details))
        state.nextSequence += 1
        state.ledger.append("auth:\(event.id.lowercasedString)")
    }

    // MARK: Accounts

    public func insertAccount(
        _ account: Account, issuing token: AccountToken?, queueing mail: [OutboundMail]
    )
        async throws
    {
        try state.withLock { state in
            let index = account.email.normalized
            guard state.accounts[account.id] == nil, !state.accounts.values.contains(where: { $0.emailIndex == index })
            else { throw IdentityError.emailTaken }
            state.accounts[account.id] = AccountRow(
                id: account.id, email: seal(index, subject: account.subjectID), emailIndex: index,
                passwordHash: account.passwordHash, roles: account.roles,
                createdAt: account.createdAt.roundedToMicroseconds, totpSecret: nil, mfaEnabled: false,
                totpLastStep: 0, displayName: nil, locale: account.locale,
                emailVerifiedAt: account.emailVerifiedAt?.roundedToMicroseconds)
            if let token { state.accountTokens[token.digest] = (token, nil) }
            state.queuedMail += mail
        }
    }

    public func updateProfile(
        userID: UUID, email: EmailAddress, displayName: String?, recording event: AuthEvent
    ) async throws {
        try state.withLock { state in
            let index = email.normalized
            // An UPDATE of no row clashes with nothing.
            if state.accounts[userID] != nil,
                state.accounts.values.contains(where: { $0.id != userID && $0.emailIndex == index })
            {
                throw IdentityError.emailTaken
            }
            do { try state.checkNew([event]) } catch { throw IdentityError.emailTaken }
            let subject = userID.lowercasedString
            let sealedEmail: Sealed = seal(index, subject: subject)
            let sealedName = seal(displayName, subject: subject)
            if var row = state.accounts[userID] {
                if row.emailIndex != index {
                    // A link mailed to the old address must not confirm the new one.
                    state.accountTokens = state.accountTokens.filter {
                        !($0.value.token.userID == userID && $0.value.token.purpose == .emailVerification
                            && $0.value.usedAt == nil)
                    }
                }
                row.email = sealedEmail
                row.emailIndex = index
                row.displayName = sealedName
                state.accounts[userID] = row
            }
            append(event, &state)
        }
    }

    public func account(id: UUID) async throws -> Account? {
        try state.withLock { state in try state.accounts[id].map { try account($0, state) } }
    }

    public func account(email: EmailAddress) async throws -> Account? {
        try state.withLock { state in
            try state.accounts.values.first { $0.emailIndex == email.normalized }.map { try account($0, state) }
        }
    }

    public func updatePasswordHash(userID: UUID, hash: String, queueing mail: [OutboundMail]) async throws {
        state.withLock { state in
            state.accounts[userID]?.passwordHash = hash
            state.queuedMail += mail
        }
    }

    // MARK: Account tokens

    public func insertAccountToken(_ token: AccountToken, queueing mail: OutboundMail) async throws {
        state.withLock { state in
            state.accountTokens = state.accountTokens.filter {
                !($0.value.token.userID == token.userID && $0.value.token.purpose == token.purpose
                    && $0.value.usedAt == nil)
            }
            state.accountTokens[token.digest] = (
                AccountToken(
                    digest: token.digest, purpose: token.purpose, userID: token.userID,
                    issuedAt: token.issuedAt.roundedToMicroseconds, expiresAt: token.expiresAt.roundedToMicroseconds,
                    payload: token.payload),
                nil
            )
            state.queuedMail.append(mail)
        }
    }

    public func changeEmail(
        tokenDigest: String, purpose: AccountToken.Purpose, userID: UUID, to email: EmailAddress, at date: Date,
        issuing undo: AccountToken?, securing: Bool, recording event: AuthEvent, queueing mail: [OutboundMail]
    ) async throws -> [UUID]? {
        try state.withLock { state in
            guard let stored = state.accountTokens[tokenDigest], stored.token.purpose == purpose,
                stored.token.userID == userID, stored.usedAt == nil, stored.token.expiresAt > date
            else { return nil }
            let index = email.normalized
            if state.accounts.values.contains(where: { $0.id != userID && $0.emailIndex == index }) {
                throw IdentityError.emailTaken
            }
            try state.checkNew([event])
            state.accountTokens[tokenDigest]?.usedAt = date
            let voided: Set<AccountToken.Purpose> =
                securing ? Set(AccountToken.Purpose.allCases) : [.emailChange, .emailVerification]
            state.accountTokens = state.accountTokens.filter {
                !($0.value.token.userID == userID && voided.contains($0.value.token.purpose) && $0.value.usedAt == nil)
            }
            var ended: [UUID] = []
            if securing {
                ended = state.sessionOrder.filter {
                    state.sessions[$0]?.userID == userID && state.sessions[$0]?.revokedAt == nil
                }
                for id in ended { _ = state.revoke(id, at: date) }
                state.accounts[userID]?.passwordHash = ""
                state.accounts[userID]?.totpSecret = nil
                state.accounts[userID]?.mfaEnabled = false
                state.recoveryCodes[userID] = nil
                state.passkeys = state.passkeys.filter { $0.value.userID != userID }
            }
            state.accounts[userID]?.email = seal(index, subject: userID.lowercasedString)
            state.accounts[userID]?.emailIndex = index
            state.accounts[userID]?.emailVerifiedAt = date.roundedToMicroseconds
            if let undo { state.accountTokens[undo.digest] = (undo, nil) }
            append(event, &state)
            state.queuedMail += mail
            return ended
        }
    }

    public func accountToken(digest: String, purpose: AccountToken.Purpose) async throws -> AccountToken? {
        state.withLock { state in
            guard let stored = state.accountTokens[digest], stored.token.purpose == purpose, stored.usedAt == nil
            else { return nil }
            return stored.token
        }
    }

    public func verifyEmail(
        tokenDigest: String, at date: Date, recording event: @Sendable (UUID) -> AuthEvent
    ) async throws -> UUID? {
        try state.withLock { state in
            guard let stored = state.accountTokens[tokenDigest], stored.token.purpose == .emailVerification,
                stored.usedAt == nil, stored.token.expiresAt > date
            else { return nil }
            let userID = stored.token.userID
            let recorded = event(userID)
            try state.checkNew([recorded])
            state.accountTokens[tokenDigest]?.usedAt = date
            if state.accounts[userID]?.emailVerifiedAt == nil {
                state.accounts[userID]?.emailVerifiedAt = date.roundedToMicroseconds
            }
            append(recorded, &state)
            return userID
        }
    }

    public func resetPassword(
        tokenDigest: String, userID: UUID, hash: String, at date: Date, recording event: AuthEvent,
        queueing notice: OutboundMail
    ) async throws -> [UUID]? {
        try state.withLock { state in
            guard let stored = state.accountTokens[tokenDigest], stored.token.purpose == .passwordReset,
                stored.token.userID == userID, stored.usedAt == nil, stored.token.expiresAt > date
            else { return nil }
            try state.checkNew([event])
            state.accountTokens[tokenDigest]?.usedAt = date
            state.accountTokens = state.accountTokens.filter {
                $0.value.token.userID != userID || $0.value.usedAt != nil || $0.value.token.purpose == .emailChangeUndo
            }
            state.accounts[userID]?.passwordHash = hash
            let ended = state.sessionOrder.filter {
                state.sessions[$0]?.userID == userID && state.sessions[$0]?.revokedAt == nil
            }
            for id in ended { _ = state.revoke(id, at: date) }
            append(event, &state)
            state.queuedMail.append(notice)
            return ended
        }
    }

    public func updateMFA(
        userID: UUID, sealedSecret: Data?, enabled: Bool, recoveryCodeDigests: [String], queueing mail: [OutboundMail]
    ) async throws {
        try state.withLock { state in
            defer { state.queuedMail += mail }
            guard Set(recoveryCodeDigests).count == recoveryCodeDigests.count else {
                throw InMemoryConstraintViolation("recovery_codes: (user_id, digest) must be unique")
            }
            guard recoveryCodeDigests.isEmpty || state.accounts[userID] != nil else {
                throw InMemoryConstraintViolation("recovery_codes.user_id references no account")
            }
            if var row = state.accounts[userID] {
                row.totpSecret = sealedSecret
                row.mfaEnabled = enabled
                state.accounts[userID] = row
            }
            let codes = Dictionary(uniqueKeysWithValues: recoveryCodeDigests.map { ($0, RecoveryCode()) })
            state.recoveryCodes[userID] = codes.isEmpty ? nil : codes
        }
    }

    public func consumeTOTPStep(userID: UUID, step: Int64) async throws -> Bool {
        state.withLock { state in
            guard let row = state.accounts[userID], row.totpLastStep < step else { return false }
            state.accounts[userID]?.totpLastStep = step
            return true
        }
    }

    public func consumeRecoveryCode(userID: UUID, digest: String, at date: Date) async throws -> Bool {
        state.withLock { state in
            guard let code = state.recoveryCodes[userID]?[digest], code.usedAt == nil else { return false }
            state.recoveryCodes[userID]?[digest]?.usedAt = date.roundedToMicroseconds
            return true
        }
    }

    public func deleteAccount(id: UUID, at date: Date) async throws {
        state.withLock { state in
            let revokedAt = date.roundedToMicroseconds
            for sessionID in state.sessionOrder {
                guard var session = state.sessions[sessionID], session.userID == id, session.revokedAt == nil else {
                    continue
                }
                session.revokedAt = revokedAt
                state.sessions[sessionID] = session
                state.queueLogoutNotices(for: [sessionID], at: revokedAt)
            }
            state.spendCodes { $0.userID == id }
            state.grants = state.grants.filter { $0.value.userID != id }
            state.refreshTokens = state.refreshTokens.filter { $0.value.userID != id }
            state.recoveryCodes[id] = nil
            state.accountTokens = state.accountTokens.filter { $0.value.token.userID != id }
            state.knownDevices[id] = nil
            state.passkeys = state.passkeys.filter { $0.value.userID != id }
            state.passkeyChallenges = state.passkeyChallenges.filter { $0.value.userID != id }
            state.accounts[id] = nil
        }
    }

    public func setRoles(userID: UUID, roles: Set<Role>, event: AuthEvent) async throws {
        try state.withLock { state in
            try state.checkNew([event])
            state.accounts[userID]?.roles = roles
            append(event, &state)
        }
    }

    // MARK: Sessions

    public func insertSession(
        _ session: Session, firstToken: RefreshTokenRecord, recording events: [AuthEvent],
        clearingThrottle key: String?,
        queueing mail: [OutboundMail]
    ) async throws {
        try state.withLock { state in
            guard state.sessions[session.id] == nil else {
                throw InMemoryConstraintViolation("sessions.id must be unique")
            }
            guard state.refreshTokens[firstToken.digest] == nil else {
                throw InMemoryConstraintViolation("refresh_tokens.digest must be unique")
            }
            try state.checkNew(events)
            if let key { state.throttles[key] = nil }
            store(session, &state)
            state.insert(firstToken)
            for event in events { append(event, &state) }
            state.queuedMail += mail
        }
    }

    private func store(_ session: Session, _ state: inout State) {
        let subject = session.userID.lowercasedString
        state.sessions[session.id] = SessionRow(
            id: session.id, userID: session.userID, createdAt: session.createdAt.roundedToMicroseconds,
            lastUsedAt: session.lastUsedAt.roundedToMicroseconds,
            ip: seal(session.client.ipAddress, subject: subject),
            agent: seal(session.client.userAgent, subject: subject), revokedAt: nil,
            rememberMe: session.rememberMe, amr: session.authenticationMethods.joined(separator: " "),
            application: session.application)
        state.sessionOrder.append(session.id)
    }

    // MARK: OAuth grants

    public func insertAuthorizationCode(_ code: AuthorizationCode) async throws {
        try state.withLock { state in
            guard state.authorizationCodes[code.digest] == nil else {
                throw InMemoryConstraintViolation("oauth_codes.digest must be unique")
            }
            state.authorizationCodes[code.digest] = (code, nil, nil)
        }
    }

    public func redeemAuthorizationCode(
        digest: String, clientID: String, at date: Date,
        decide: @escaping @Sendable (AuthorizationCode) -> CodeDecision
    ) async throws -> CodeRedemption {
        try state.withLock { state in
            guard let stored = state.authorizationCodes[digest], stored.code.clientID == clientID else {
                return .refused(OAuthError(.invalidGrant, "the code is not valid"))
            }
            if stored.spentAt != nil {
                if let session = stored.sessionID { _ = state.revoke(session, at: date.roundedToMicroseconds) }
                return .replayed(stored.code, revokedSession: stored.sessionID)
            }
            let granted = state.grants[stored.code.userID.lowercasedString + " " + clientID] != nil
            let decision: CodeDecision =
                granted
                ? decide(stored.code) : .refuse(OAuthError(.invalidGrant, "the person has disconnected the client"))
            switch decision {
            case .refuse(let error):
                state.authorizationCodes[digest]?.spentAt = date
                return .refused(error)
            case .issue(let session, let firstToken, let events):
                guard state.sessions[session.id] == nil else {
                    throw InMemoryConstraintViolation("sessions.id must be unique")
                }
                try state.checkNew(events)
                state.authorizationCodes[digest] = (stored.code, date, session.id)
                store(session, &state)
                if let firstToken { state.insert(firstToken) }
                for event in events { append(event, &state) }
                return .redeemed(stored.code)
            }
        }
    }

    public func insertPushedRequest(_ request: PushedRequest) async throws {
        try state.withLock { state in
            guard state.pushedRequests[request.digest] == nil else {
                throw InMemoryConstraintViolation("oauth_pushed_requests.digest must be unique")
            }
            state.pushedRequests[request.digest] = request
        }
    }

    public func pushedRequest(digest: String) async throws -> PushedRequest? {
        state.withLock { $0.pushedRequests[digest] }
    }

    public func deletePushedRequest(digest: String) async throws -> Bool {
        state.withLock { state in state.pushedRequests.removeValue(forKey: digest) != nil }
    }

    public func refreshToken(digest: String) async throws -> RefreshTokenRecord? {
        state.withLock { $0.refreshTokens[digest] }
    }

    public func oauthGrant(userID: UUID, clientID: String) async throws -> OAuthGrant? {
        state.withLock { $0.grants[userID.lowercasedString + " " + clientID] }
    }

    public func oauthGrants(userID: UUID) async throws -> [OAuthGrant] {
        state.withLock { state in
            state.grants.values.filter { $0.userID == userID }.sorted {
                ($0.grantedAt, $0.clientID) < ($1.grantedAt, $1.clientID)
            }
        }
    }

    public func saveOAuthGrant(_ grant: OAuthGrant, recording event: AuthEvent) async throws {
        try state.withLock { state in
            try state.checkNew([event])
            state.grants[grant.userID.lowercasedString + " " + grant.clientID] = grant
            append(event, &state)
        }
    }

    public func deleteOAuthGrant(
        userID: UUID, clientID: String, at date: Date, recording event: AuthEvent
    )
        async throws -> [UUID]?
    {
        try state.withLock { state in
            let key = userID.lowercasedString + " " + clientID
            guard state.grants[key] != nil else { return nil }
            try state.checkNew([event])
            state.grants[key] = nil
            let ids = state.sessionOrder.filter { id in
                guard let session = state.sessions[id] else { return false }
                return session.userID == userID && session.revokedAt == nil && session.application?.clientID == clientID
            }
            for id in ids { _ = state.revoke(id, at: date.roundedToMicroseconds) }
            state.spendCodes { $0.userID == userID && $0.clientID == clientID }
            append(event, &state)
            return ids
        }
    }

    public func rememberDevice(
        userID: UUID, digest: String, at date: Date
    ) async throws -> (
        isNew: Bool, hadOthers: Bool
    ) {
        state.withLock { state in
            let known = state.knownDevices[userID, default: []]
            guard !known.contains(digest) else { return (false, true) }
            state.knownDevices[userID, default: []].insert(digest)
            return (true, !known.isEmpty)
        }
    }

    public func setLocale(userID: UUID, locale: String?) async throws {
        state.withLock { state in state.accounts[userID]?.locale = locale }
    }

    public func setMutedNotices(
        userID: UUID, _ notices: Set<MailTemplateName>, recording event: AuthEvent
    )
        async throws
    {
        try state.withLock { state in
            try state.checkNew([event])
            state.accounts[userID]?.mutedNotices = notices
            append(event, &state)
        }
    }

    public func session(id: UUID) async throws -> Session? {
        state.withLock { state in state.sessions[id].map { session($0) } }
    }

    public func sessions(userID: UUID) async throws -> [Session] {
        state.withLock { state in
            let rows = state.sessionOrder.compactMap { state.sessions[$0] }.filter { $0.userID == userID }
            // Newest first; among equal times, in insertion order.
            return rows.enumerated()
                .sorted { ($0.element.createdAt, $1.offset) > ($1.element.createdAt, $0.offset) }
                .map { session($0.element) }
        }
    }

    public func revokeSession(id: UUID, at date: Date) async throws -> Bool {
        state.withLock { state in state.revoke(id, at: date.roundedToMicroseconds) }
    }

    public func revokeSessions(userID: UUID, keeping: UUID?, at date: Date) async throws -> [UUID] {
        state.withLock { state in
            let ids = state.sessionOrder.filter { id in
                guard let session = state.sessions[id] else { return false }
                return session.userID == userID && session.revokedAt == nil && id != keeping
            }
            for id in ids { _ = state.revoke(id, at: date.roundedToMicroseconds) }
            return ids
        }
    }

    public func touchSession(id: UUID, at date: Date) async throws {
        state.withLock { state in state.sessions[id]?.lastUsedAt = date.roundedToMicroseconds }
    }

    // MARK: Refresh tokens

    public func exchangeRefreshToken(
        digest: String, at date: Date,
        decide: @escaping @Sendable (RefreshTokenRecord?, Session?) -> RefreshExchangePlan
    ) async throws -> RefreshExchangePlan {
        try state.withLock { state in
            let token = state.refreshTokens[digest]
            let found = token.flatMap { state.sessions[$0.sessionID] }.map { session($0) }
            let plan = decide(token, found)
            let now = date.roundedToMicroseconds
            switch plan {
            case .reject:
                break
            case .rotate(let successor, let countsAsGraceReuse):
                if countsAsGraceReuse {
                    state.refreshTokens[digest]?.graceReuses += 1
                } else {
                    guard state.refreshTokens[successor.digest] == nil else {
                        throw InMemoryConstraintViolation("refresh_tokens.digest must be unique")
                    }
                    state.refreshTokens[digest]?.rotatedAt = now
                    state.insert(successor)
                }
                state.sessions[successor.sessionID]?.lastUsedAt = now
            case .revokeFamily(let sessionID):
                _ = state.revoke(sessionID, at: now)
            }
            return plan
        }
    }

    // MARK: Throttling

    public func updateLoginThrottle(
        key: String, _ decide: @escaping @Sendable (LoginThrottleState?) -> (LoginThrottleState, LoginThrottleDecision)
    ) async throws -> LoginThrottleDecision {
        state.withLock { state in
            let current =
                state.throttles[key]
                ?? LoginThrottleState(
                    attempts: 0, windowStart: Date(microsecondsSince1970: 0), lockedUntil: nil, lockouts: 0)
            let (next, decision) = decide(current)
            state.throttles[key] = LoginThrottleState(
                attempts: next.attempts, windowStart: next.windowStart.roundedToMicroseconds,
                lockedUntil: next.lockedUntil?.roundedToMicroseconds, lockouts: next.lockouts)
            return decision
        }
    }

    public func clearLoginThrottle(key: String) async throws {
        state.withLock { state in state.throttles[key] = nil }
    }

    public func countRateLimitHits(key: String, windowStart: Int64, hits: Int) async throws -> Int {
        state.withLock { state in
            let total: Int
            if let current = state.rateLimits[key], current.windowStart == windowStart {
                total = current.hits + hits
            } else {
                total = hits
            }
            state.rateLimits[key] = (windowStart: windowStart, hits: total)
            return total
        }
    }

    public func purgeExpired(now: Date, throttleWindow: TimeInterval) async throws -> Int {
        state.withLock { state in
            let micros = now.microsecondsSince1970
            let windowCutoff = now.addingTimeInterval(-throttleWindow).microsecondsSince1970
            let tokens = state.refreshTokens.filter { $0.value.expiresAt.microsecondsSince1970 < micros }
            for digest in tokens.keys { state.refreshTokens[digest] = nil }
            let throttles = state.throttles.filter { entry in
                entry.value.windowStart.microsecondsSince1970 < windowCutoff
                    && (entry.value.lockedUntil.map { $0.microsecondsSince1970 < micros } ?? true)
            }
            for key in throttles.keys { state.throttles[key] = nil }
            // Windows are at most an hour long; anything older has no effect on a limit.
            let cutoff = Int64(now.timeIntervalSince1970) - 3600
            let limits = state.rateLimits.filter { $0.value.windowStart < cutoff }
            for key in limits.keys { state.rateLimits[key] = nil }
            let challenges = state.spentChallenges.filter { $0.value.microsecondsSince1970 < micros }
            for id in challenges.keys { state.spentChallenges[id] = nil }
            let mailed = state.accountTokens.filter { $0.value.token.expiresAt.microsecondsSince1970 < micros }
            for digest in mailed.keys { state.accountTokens[digest] = nil }
            let passkeyChallenges = state.passkeyChallenges.filter {
                $0.value.expiresAt.microsecondsSince1970 < micros
            }
            for digest in passkeyChallenges.keys { state.passkeyChallenges[digest] = nil }
            let codeCutoff = now.addingTimeInterval(-3600).microsecondsSince1970
            let codes = state.authorizationCodes.filter { $0.value.code.expiresAt.microsecondsSince1970 < codeCutoff }
            for digest in codes.keys { state.authorizationCodes[digest] = nil }
            let pushed = state.pushedRequests.filter { $0.value.expiresAt.microsecondsSince1970 < micros }
            for digest in pushed.keys { state.pushedRequests[digest] = nil }
            return tokens.count + throttles.count + limits.count + challenges.count + mailed.count
                + passkeyChallenges.count + codes.count + pushed.count
        }
    }

    public func spendChallenge(id: String, expiresAt: Date) async throws -> Bool {
        state.withLock { state in
            guard state.spentChallenges[id] == nil else { return false }
            state.spentChallenges[id] = expiresAt
            return true
        }
    }

    // MARK: Signing keys

    public func signingKeys() async throws -> [StoredSigningKey] {
        state.withLock { $0.signingKeys }
    }

    public func insertSigningKey(_ key: StoredSigningKey, retiringOthersAt date: Date) async throws {
        try state.withLock { state in
            guard !state.signingKeys.contains(where: { $0.keyID == key.keyID }) else {
                throw InMemoryConstraintViolation("signing_keys.kid must be unique")
            }
            for index in state.signingKeys.indices
            where state.signingKeys[index].algorithm == key.algorithm && state.signingKeys[index].retiredAt == nil {
                state.signingKeys[index].retiredAt = date.roundedToMicroseconds
            }
            state.signingKeys.append(
                StoredSigningKey(
                    keyID: key.keyID, algorithm: key.algorithm, publicKey: key.publicKey,
                    sealedPrivateKey: key.sealedPrivateKey, createdAt: key.createdAt.roundedToMicroseconds))
        }
    }

    // MARK: Audit

    public func appendAuthEvent(_ event: AuthEvent, queueing mail: [OutboundMail]) async throws {
        try state.withLock { state in
            try state.checkNew([event])
            append(event, &state)
            state.queuedMail += mail
        }
    }

    public func authEvents(userID: UUID?, limit: Int) async throws -> [AuthEvent] {
        state.withLock { state in
            state.events.reversed().filter { userID == nil || $0.userID == userID }.prefix(max(0, limit))
                .map { event($0) }
        }
    }

    public func authEvents(
        userID: UUID, after sequence: Int64, limit: Int
    ) async throws -> [(sequence: Int64, event: AuthEvent)] {
        state.withLock { state in
            state.events.filter { $0.userID == userID && $0.sequence > sequence }.prefix(max(0, limit))
                .map { (sequence: $0.sequence, event: event($0)) }
        }
    }

    // MARK: Keys sealed under the master key

    /// The signing keys, or the TOTP secrets of the accounts that have one, as `SQLSealedKeyRepository`
    /// lists them (by key id, or by the account id in lower case); nothing for the other kinds.
    func sealedKeys(_ kind: SealedKeyKind) -> [SealedKey] {
        state.withLock { state -> [SealedKey] in
            switch kind {
            case .signingKey:
                return state.signingKeys.map { SealedKey(kind: kind, id: $0.keyID, sealed: $0.sealedPrivateKey) }
                    .sorted { $0.id < $1.id }
            case .totpSecret:
                return state.accounts.values.compactMap { row in
                    row.totpSecret.map { SealedKey(kind: kind, id: row.id.lowercasedString, sealed: $0) }
                }
                .sorted { $0.id < $1.id }
            case .wrappingKey, .secret, .webhookSecret:
                return []
            }
        }
    }

    /// The sealed bytes of one signing key or TOTP secret, if it is stored.
    func sealedKey(_ kind: SealedKeyKind, id: String) -> Data? {
        sealedKeys(kind).first { $0.id == id }?.sealed
    }

    /// Stores `sealed` for an existing signing key or account (an UPDATE: nothing for an unknown id);
    /// with `expected`, only while the stored bytes are still those (compare and swap). Returns whether
    /// it stored them.
    @discardableResult
    func storeSealedKey(_ kind: SealedKeyKind, id: String, sealed: Data, expected: Data? = nil) -> Bool {
        state.withLock { state in
            switch kind {
            case .signingKey:
                guard let index = state.signingKeys.firstIndex(where: { $0.keyID == id }),
                    expected == nil || state.signingKeys[index].sealedPrivateKey == expected
                else { return false }
                let key = state.signingKeys[index]
                state.signingKeys[index] = StoredSigningKey(
                    keyID: key.keyID, algorithm: key.algorithm, publicKey: key.publicKey, sealedPrivateKey: sealed,
                    createdAt: key.createdAt, retiredAt: key.retiredAt)
                return true
            case .totpSecret:
                guard let userID = UUID(uuidString: id), userID.lowercasedString == id,
                    let row = state.accounts[userID], expected == nil || row.totpSecret == expected
                else { return false }
                state.accounts[userID]?.totpSecret = sealed
                return true
            case .wrappingKey, .secret, .webhookSecret:
                return false
            }
        }
    }
}

extension InMemoryIdentityRepository {
    public func leaseLogoutNotices(limit: Int, now: Date, for duration: TimeInterval) async throws -> [LogoutNotice] {
        // As the SQL stores it: notices are queued at whole microseconds.
        let now = now.roundedToMicroseconds
        return state.withLock { state in
            let due = state.logoutNotices.filter { _, notice in
                !notice.dead && notice.nextAttemptAt <= now && (notice.leasedUntil.map { $0 <= now } ?? true)
            }
            let lease = UUID()
            return due.sorted {
                ($0.value.nextAttemptAt, $0.value.createdAt) < ($1.value.nextAttemptAt, $1.value.createdAt)
            }
            .prefix(limit).map { id, notice in
                state.logoutNotices[id]?.attempts += 1
                state.logoutNotices[id]?.lease = lease
                state.logoutNotices[id]?.leasedUntil = now.addingTimeInterval(duration)
                return LogoutNotice(
                    sessionID: id, clientID: notice.clientID, userID: notice.userID, attempt: notice.attempts + 1,
                    lease: lease)
            }
        }
    }

    public func finishLogoutNotice(sessionID: UUID, lease: UUID) async throws -> Bool {
        state.withLock { state in
            guard let notice = state.logoutNotices[sessionID], notice.lease == lease, !notice.dead else { return false }
            state.logoutNotices[sessionID] = nil
            return true
        }
    }

    public func failLogoutNotice(sessionID: UUID, lease: UUID, error: String, retryAt: Date?) async throws -> Bool {
        state.withLock { state in
            guard var notice = state.logoutNotices[sessionID], notice.lease == lease, !notice.dead else { return false }
            notice.dead = retryAt == nil
            notice.nextAttemptAt = retryAt ?? notice.nextAttemptAt
            notice.lastError = error
            notice.lease = nil
            notice.leasedUntil = nil
            state.logoutNotices[sessionID] = notice
            return true
        }
    }

    /// The notices waiting, and the dead ones, for tests to look at.
    public var queuedLogoutNotices: [(sessionID: UUID, clientID: String, dead: Bool, attempts: Int)] {
        state.withLock { state in
            state.logoutNotices.map { ($0.key, $0.value.clientID, $0.value.dead, $0.value.attempts) }
        }
    }
}
