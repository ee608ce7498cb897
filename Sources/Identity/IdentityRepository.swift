import Foundation
import Outbox

/// What identity needs from a database. Implemented for SQLite and PostgreSQL in `Storage`; both pass
/// one conformance suite. Methods that decide something from a row take the decision as a closure and
/// run read, decision and write in one transaction, so concurrent requests cannot interleave them.
public protocol IdentityRepository: PasskeyRepository, OAuthClientRepository, OAuthGrantRepository,
    LogoutNoticeRepository
{
    /// Stores the account with `token` (its email's verification link, say) and queues `mail`, in one
    /// transaction. Throws `IdentityError.emailTaken` when the email is in use.
    func insertAccount(_ account: Account, issuing token: AccountToken?, queueing mail: [OutboundMail]) async throws
    /// Replaces the email and display name, recording `event` in the same transaction. Throws
    /// `IdentityError.emailTaken` when another account has the email.
    func updateProfile(userID: UUID, email: EmailAddress, displayName: String?, recording event: AuthEvent) async throws
    /// Sets the language of the account's mail; nil is English.
    func setLocale(userID: UUID, locale: String?) async throws
    func account(id: UUID) async throws -> Account?
    func account(email: EmailAddress) async throws -> Account?
    /// Replaces the password hash, queueing `mail` in the same transaction.
    func updatePasswordHash(userID: UUID, hash: String, queueing mail: [OutboundMail]) async throws
    /// Stores a TOTP secret (pending until enabled), or clears MFA when `secret` is nil, and queues `mail`.
    func updateMFA(
        userID: UUID, sealedSecret: Data?, enabled: Bool, recoveryCodeDigests: [String], queueing mail: [OutboundMail]
    ) async throws
    /// Records `step` as used, if it is newer than every step used before. False means replay.
    func consumeTOTPStep(userID: UUID, step: Int64) async throws -> Bool
    /// Marks an unused recovery code used. False when it is unknown or already used.
    func consumeRecoveryCode(userID: UUID, digest: String, at: Date) async throws -> Bool
    /// Deletes the account's credentials, MFA and refresh tokens, and revokes its sessions.
    func deleteAccount(id: UUID, at: Date) async throws
    /// Replaces the account's roles and records `event` (with its ledger entry) in the same transaction.
    func setRoles(userID: UUID, roles: Set<Role>, event: AuthEvent) async throws

    /// Stores a new session, its first refresh token and the audit events of its creation, and clears the
    /// login throttle that the successful authentication ends, in one transaction.
    func insertSession(
        _ session: Session, firstToken: RefreshTokenRecord, recording events: [AuthEvent],
        clearingThrottle key: String?,
        queueing mail: [OutboundMail]
    ) async throws
    /// Remembers that the account signed in from the device whose keyed digest is `digest`. Returns
    /// whether the device is new to the account, and whether the account had signed in from any before.
    func rememberDevice(userID: UUID, digest: String, at date: Date) async throws -> (isNew: Bool, hadOthers: Bool)
    /// Replaces the notices the person turned off, and records `event`, in one transaction.
    func setMutedNotices(userID: UUID, _ notices: Set<MailTemplateName>, recording event: AuthEvent) async throws
    func session(id: UUID) async throws -> Session?
    func sessions(userID: UUID) async throws -> [Session]
    /// Revokes a session and every refresh token of it. False when there was no such active session.
    func revokeSession(id: UUID, at: Date) async throws -> Bool
    /// Revokes every active session of the user except `keeping`, and returns the ids revoked.
    func revokeSessions(userID: UUID, keeping: UUID?, at: Date) async throws -> [UUID]
    func touchSession(id: UUID, at: Date) async throws

    /// Finds the token with `digest` and its session, lets `decide` choose, and applies the choice,
    /// all in one transaction.
    func exchangeRefreshToken(
        digest: String, at: Date, decide: @escaping @Sendable (RefreshTokenRecord?, Session?) -> RefreshExchangePlan
    ) async throws -> RefreshExchangePlan

    func updateLoginThrottle(
        key: String, _ decide: @escaping @Sendable (LoginThrottleState?) -> (LoginThrottleState, LoginThrottleDecision)
    ) async throws -> LoginThrottleDecision
    func clearLoginThrottle(key: String) async throws
    /// Counts `hits` against `key` in the fixed window starting at `windowStart` (a new window starts
    /// from zero), atomically, and returns the window's count including them.
    func countRateLimitHits(key: String, windowStart: Int64, hits: Int) async throws -> Int
    /// Records `id` as spent until `expiresAt`; false if it was spent already, by this or any replica.
    func spendChallenge(id: String, expiresAt: Date) async throws -> Bool

    /// Deletes what can no longer matter: refresh tokens past their expiry, attempt counters whose
    /// window and lock-out are both over, rate-limit windows that ended before `now`, spent
    /// challenges that would have expired anyway, and mailed account tokens past their expiry. Returns
    /// the number of rows deleted.
    func purgeExpired(now: Date, throttleWindow: TimeInterval) async throws -> Int

    /// Stores `token`, replacing the account's unused tokens of the same purpose, and queues `mail`
    /// that carries it, in one transaction.
    func insertAccountToken(_ token: AccountToken, queueing mail: OutboundMail) async throws
    /// The unused token with `digest` and `purpose`, expired or not.
    func accountToken(digest: String, purpose: AccountToken.Purpose) async throws -> AccountToken?
    /// Spends the verification token if it is still unused and unexpired at `date`, marks the account's
    /// email verified, and records `event` with its ledger entry, in one transaction. Returns the
    /// account's id, or nil when the token was spent or had expired.
    func verifyEmail(
        tokenDigest: String, at date: Date, recording event: @Sendable (UUID) -> AuthEvent
    ) async throws
        -> UUID?
    /// Spends the email-change (or undo) token with `digest` if it is still unused and unexpired at
    /// `date`, moves the account to `email` (confirmed, as the link reached it), stores `undo`, records
    /// `event` with its ledger entry and queues `mail`, in one transaction. A move voids the account's
    /// unused email-change and verification links, never an undo link; with `securing` (an undo), every
    /// unused link, the password, passkeys, TOTP and recovery codes go and every session ends. Returns
    /// the sessions ended, or nil when the token was spent or had expired. Throws
    /// ``IdentityError/emailTaken`` when another account has the email.
    func changeEmail(
        tokenDigest: String, purpose: AccountToken.Purpose, userID: UUID, to email: EmailAddress, at date: Date,
        issuing undo: AccountToken?, securing: Bool, recording event: AuthEvent, queueing mail: [OutboundMail]
    ) async throws -> [UUID]?
    /// Spends the reset token if it is still unused and unexpired at `date`, sets the password hash,
    /// voids the account's other unused links but an email change's undo, ends every session of the
    /// account, records `event` with its ledger entry and queues `notice`, in one transaction. Returns the sessions ended, or nil when the token was spent or had expired.
    func resetPassword(
        tokenDigest: String, userID: UUID, hash: String, at date: Date, recording event: AuthEvent,
        queueing notice: OutboundMail
    ) async throws -> [UUID]?

    func signingKeys() async throws -> [StoredSigningKey]
    /// Adds `key` and retires every other active key of the same algorithm, atomically.
    func insertSigningKey(_ key: StoredSigningKey, retiringOthersAt: Date) async throws

    /// Records `event` with its ledger entry, and queues `mail`, in one transaction.
    func appendAuthEvent(_ event: AuthEvent, queueing mail: [OutboundMail]) async throws
    func authEvents(userID: UUID?, limit: Int) async throws -> [AuthEvent]
    /// One page of a user's audit events in log order, after `sequence`, with their sequences.
    func authEvents(
        userID: UUID, after sequence: Int64, limit: Int
    ) async throws -> [(sequence: Int64, event: AuthEvent)]
}

extension IdentityRepository {
    /// Stores an account that needs no link and no mail (an administrator made on the command line).
    public func insertAccount(_ account: Account) async throws {
        try await insertAccount(account, issuing: nil, queueing: [])
    }

    public func appendAuthEvent(_ event: AuthEvent) async throws {
        try await appendAuthEvent(event, queueing: [])
    }

    public func updateMFA(
        userID: UUID, sealedSecret: Data?, enabled: Bool, recoveryCodeDigests: [String]
    )
        async throws
    {
        try await updateMFA(
            userID: userID, sealedSecret: sealedSecret, enabled: enabled, recoveryCodeDigests: recoveryCodeDigests,
            queueing: [])
    }

    public func insertSession(
        _ session: Session, firstToken: RefreshTokenRecord, recording events: [AuthEvent], clearingThrottle key: String?
    ) async throws {
        try await insertSession(
            session, firstToken: firstToken, recording: events, clearingThrottle: key, queueing: [])
    }

    /// Replaces the password hash, with nothing to mail (a re-hash at sign-in).
    public func updatePasswordHash(userID: UUID, hash: String) async throws {
        try await updatePasswordHash(userID: userID, hash: hash, queueing: [])
    }
}

/// What to do with a presented refresh token.
public enum RefreshExchangePlan: Sendable, Equatable {
    /// Unknown, expired, or its session is gone: answer 401 and change nothing.
    case reject
    /// Mark the presented token rotated and store `successor`; or, for a reuse inside the grace window,
    /// count it: its successor is stored already.
    case rotate(successor: RefreshTokenRecord, countsAsGraceReuse: Bool)
    /// The token was replayed after rotation: revoke its session and every token of it.
    case revokeFamily(sessionID: UUID)
}
