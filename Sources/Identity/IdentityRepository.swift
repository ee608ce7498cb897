import Foundation

/// What identity needs from a database. Implemented for SQLite and PostgreSQL in `Storage`; both pass
/// one conformance suite. Methods that decide something from a row take the decision as a closure and
/// run read, decision and write in one transaction, so concurrent requests cannot interleave them.
public protocol IdentityRepository: Sendable {
    /// Throws `IdentityError.emailTaken` when the email is in use.
    func insertAccount(_ account: Account) async throws
    /// Replaces the email and display name, recording `event` in the same transaction. Throws
    /// `IdentityError.emailTaken` when another account has the email.
    func updateProfile(userID: UUID, email: EmailAddress, displayName: String?, recording event: AuthEvent) async throws
    func account(id: UUID) async throws -> Account?
    func account(email: EmailAddress) async throws -> Account?
    func updatePasswordHash(userID: UUID, hash: String) async throws
    /// Stores a TOTP secret (pending until enabled), or clears MFA when `secret` is nil.
    func updateMFA(userID: UUID, sealedSecret: Data?, enabled: Bool, recoveryCodeDigests: [String]) async throws
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
        _ session: Session, firstToken: RefreshTokenRecord, recording events: [AuthEvent], clearingThrottle key: String?
    ) async throws
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
    /// window and lock-out are both over, rate-limit windows that ended before `now`, and spent
    /// challenges that would have expired anyway. Returns the
    /// number of rows deleted.
    func purgeExpired(now: Date, throttleWindow: TimeInterval) async throws -> Int

    func signingKeys() async throws -> [StoredSigningKey]
    /// Adds `key` and retires every other active key of the same algorithm, atomically.
    func insertSigningKey(_ key: StoredSigningKey, retiringOthersAt: Date) async throws

    func appendAuthEvent(_ event: AuthEvent) async throws
    func authEvents(userID: UUID?, limit: Int) async throws -> [AuthEvent]
    /// One page of a user's audit events in log order, after `sequence`, with their sequences.
    func authEvents(
        userID: UUID, after sequence: Int64, limit: Int
    ) async throws -> [(sequence: Int64, event: AuthEvent)]
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
