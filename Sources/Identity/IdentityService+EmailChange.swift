import Foundation
import Kernel
import Outbox

/// Moving an account to another email address. The account moves only when a link mailed to the new
/// address is followed, so nobody can move an account to an address they cannot read, nor learn by
/// trying whether an address has an account. The old address is then told, with a link that moves the
/// account back and ends every session: the way out when someone else made the change.
extension IdentityService {
    /// How long the link to the new address works.
    public static let emailChangeLifetime: TimeInterval = 24 * 3600
    /// How long the old address may undo the change.
    public static let emailChangeUndoLifetime: TimeInterval = 7 * 24 * 3600

    /// Mails a link that moves `account` to `newEmail` to that address, and audits who asked (the person,
    /// or staff fulfilling a rectification). An address that has an account gets nothing, and the answer
    /// is the same: the link would fail anyway, and saying so would tell whose address it is.
    func requestEmailChange(
        _ account: Account, to newEmail: EmailAddress, by actor: UUID, client: ClientInfo
    ) async throws {
        let event = AuthEvent(
            kind: .emailChangeRequested, at: now(), userID: account.id, client: client,
            details: ["by": actor.lowercasedString])
        guard try await repository.account(email: newEmail) == nil else {
            try await repository.appendAuthEvent(event)
            return
        }
        let (secret, token) = accountToken(
            .emailChange, for: account, lasting: Self.emailChangeLifetime, payload: newEmail.normalized)
        let message = OutboundMail(
            subject: account.subjectID, template: .emailChange, locale: account.locale,
            recipient: newEmail.normalized,
            values: [
                "link": link("/confirm-email-change", token: secret),
                "hours": String(Int(Self.emailChangeLifetime / 3600)),
            ], createdAt: token.issuedAt)
        try await repository.insertAccountToken(token, queueing: message)
        try await repository.appendAuthEvent(event)
        observe(event.kind)
    }

    /// Moves the account to the address the link was mailed to, and tells the old address, with a link
    /// back. A token that is unknown, spent or expired changes nothing.
    public func confirmEmailChange(token secret: String, client: ClientInfo) async throws {
        let (token, account, newEmail) = try await liveEmailToken(secret, .emailChange)
        let at = now()
        let (undoSecret, undo) = accountToken(
            .emailChangeUndo, for: account, lasting: Self.emailChangeUndoLifetime,
            payload: account.email.normalized)
        let notice = mail(
            .emailChanged, to: account,
            values: [
                "time": RFC3339.string(from: at), "address": client.ipAddress ?? "unknown",
                "undo": link("/undo-email-change", token: undoSecret),
                "days": String(Int(Self.emailChangeUndoLifetime / 86400)),
            ], at: at)
        let event = AuthEvent(
            kind: .emailChanged, at: at, userID: account.id, client: client, details: ["fields": "email"])
        guard
            try await repository.changeEmail(
                tokenDigest: token.digest, purpose: .emailChange, userID: account.id, to: newEmail, at: at,
                issuing: undo, securing: false, recording: event, queueing: [notice]) != nil
        else { throw IdentityError.invalidLink }
        observe(event.kind)
    }

    /// Moves the account back to the address it left and secures it: whoever moved it may have set the
    /// password or added a passkey or a second factor, so all of those go, with every session and every
    /// mailed link; the address is told to choose a new password with a reset link.
    public func undoEmailChange(token secret: String, client: ClientInfo) async throws {
        let (token, account, oldEmail) = try await liveEmailToken(secret, .emailChangeUndo)
        let at = now()
        var restored = account
        restored.email = oldEmail
        let notice = mail(
            .emailChangeUndone, to: restored,
            values: ["time": RFC3339.string(from: at), "reset": link("/forgot-password", token: nil)], at: at)
        let event = AuthEvent(
            kind: .emailChangeUndone, at: at, userID: account.id, client: client, details: ["fields": "email"])
        guard
            let ended = try await repository.changeEmail(
                tokenDigest: token.digest, purpose: .emailChangeUndo, userID: account.id, to: oldEmail, at: at,
                issuing: nil, securing: true, recording: event, queueing: [notice])
        else { throw IdentityError.invalidLink }
        ended.forEach(sessionCache.markRevoked)
        observe(event.kind)
    }

    private func liveEmailToken(
        _ secret: String, _ purpose: AccountToken.Purpose
    ) async throws
        -> (AccountToken, Account, EmailAddress)
    {
        guard secret.utf8.count <= 128,
            let token = try await repository.accountToken(digest: OpaqueSecret.digest(secret), purpose: purpose),
            token.expiresAt > now(), let payload = token.payload, let email = try? EmailAddress(payload),
            let account = try await repository.account(id: token.userID)
        else { throw IdentityError.invalidLink }
        return (token, account, email)
    }
}
