import Foundation
import Kernel
import Outbox

/// Password reset by mail. A request answers the same whether or not the account exists; the link's
/// token is single-use, stored as a digest and short-lived; completing it still asks for the second
/// factor when MFA is on, ends every session, and tells the person.
extension IdentityService {
    /// How long a reset link works.
    public static let passwordResetLifetime: TimeInterval = 15 * 60

    /// Mails a reset link to the account with `email`, if there is one. Throws only for an address that
    /// is not an address, or when the database is down: never for an unknown account.
    public func requestPasswordReset(email rawEmail: String, client: ClientInfo) async throws {
        let email = try EmailAddress(rawEmail)
        guard let account = try await repository.account(email: email) else { return }
        let (secret, token) = accountToken(.passwordReset, for: account, lasting: Self.passwordResetLifetime)
        let message = mail(
            .passwordReset, to: account,
            values: [
                "link": link("/reset-password", token: secret),
                "minutes": String(Int(Self.passwordResetLifetime / 60)),
                "mfa": account.mfaEnabled ? "yes" : "",
            ], at: token.issuedAt)
        try await repository.insertAccountToken(token, queueing: message)
        try await audit(.passwordResetRequested, userID: account.id, client: client)
    }

    /// Whether a reset token is live, and whether completing it needs a second factor: what the reset
    /// page asks before it shows its form. Throws ``IdentityError/invalidLink`` for any other token.
    public func passwordResetNeedsSecondFactor(token secret: String) async throws -> Bool {
        try await liveResetAccount(secret).mfaEnabled
    }

    /// Sets a new password with a reset token (and, with MFA on, a TOTP or recovery code), ends every
    /// session, and mails a notice. A token that is unknown, spent or expired changes nothing.
    public func resetPassword(
        token secret: String, newPassword: String, code: String?, client: ClientInfo
    )
        async throws
    {
        let account = try await liveResetAccount(secret)
        try passwordPolicy.check(newPassword)
        if account.mfaEnabled {
            guard let code, !code.isEmpty else { throw IdentityError.invalidMFACode }
            try await verifySecondFactor(code, account: account, client: client)
        }
        let hash = try await hasher.hash(newPassword)
        let at = now()
        let event = AuthEvent(kind: .passwordReset, at: at, userID: account.id, client: client)
        let notice = passwordChangedNotice(account, at: at)
        guard
            let ended = try await repository.resetPassword(
                tokenDigest: OpaqueSecret.digest(secret), userID: account.id, hash: hash, at: at, recording: event,
                queueing: notice)
        else { throw IdentityError.invalidLink }
        ended.forEach(sessionCache.markRevoked)
        observe(event.kind)
    }

    private func liveResetAccount(_ secret: String) async throws -> Account {
        guard secret.utf8.count <= 128,
            let token = try await repository.accountToken(
                digest: OpaqueSecret.digest(secret), purpose: .passwordReset),
            token.expiresAt > now(),
            let account = try await repository.account(id: token.userID)
        else { throw IdentityError.invalidLink }
        return account
    }

    /// The notice that a password changed, for the account's own address.
    func passwordChangedNotice(_ account: Account, at date: Date) -> OutboundMail {
        mail(
            .passwordChanged, to: account,
            values: ["time": RFC3339.string(from: date), "link": link("/forgot-password", token: nil)], at: date)
    }

    /// A new single-use secret for a link mailed to `account`, and the token that stores its digest.
    func accountToken(
        _ purpose: AccountToken.Purpose, for account: Account, lasting lifetime: TimeInterval,
        payload: String? = nil
    )
        -> (secret: String, token: AccountToken)
    {
        let secret = OpaqueSecret.generateToken()
        let issued = now()
        return (
            secret,
            AccountToken(
                digest: OpaqueSecret.digest(secret), purpose: purpose, userID: account.id, issuedAt: issued,
                expiresAt: issued.addingTimeInterval(lifetime), payload: payload)
        )
    }

    /// A link into the portal, with a token in its query when there is one.
    func link(_ path: String, token: String?) -> String {
        let base = tokens.issuer.hasSuffix("/") ? String(tokens.issuer.dropLast()) : tokens.issuer
        return base + path + (token.map { "?token=" + $0 } ?? "")
    }
}
