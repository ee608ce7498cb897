import Foundation
import Kernel
import Outbox

/// Confirming that an account's email reaches its owner: a link mailed at registration (and again on
/// request), single-use, stored as a digest and expiring. What an account may do before then is
/// ``IdentityConfiguration/unverifiedAccess``.
extension IdentityService {
    /// How long a confirmation link works.
    public static let verificationLifetime: TimeInterval = 48 * 3600

    /// A new confirmation link for `account`: the token to store and the message that carries it.
    func verificationLink(for account: Account) -> (AccountToken, OutboundMail) {
        let (secret, token) = accountToken(.emailVerification, for: account, lasting: Self.verificationLifetime)
        let message = mail(
            .emailVerification, to: account,
            values: [
                "link": link("/verify-email", token: secret), "hours": String(Int(Self.verificationLifetime / 3600)),
            ], at: token.issuedAt)
        return (token, message)
    }

    /// Someone registered with an email that has an account: its owner hears of it, and how to sign in
    /// or reset the password, and the attempt is audited.
    func tellOwnerOfRepeatedRegistration(_ owner: Account, client: ClientInfo) async throws {
        let at = now()
        let message = mail(
            .registrationRepeated, to: owner,
            values: ["signIn": link("/login", token: nil), "reset": link("/forgot-password", token: nil)], at: at)
        let event = AuthEvent(kind: .registrationRepeated, at: at, userID: owner.id, client: client)
        try await repository.appendAuthEvent(event, queueing: [message])
        observe(event.kind)
    }

    /// Confirms the email of the account a link was mailed to. A token that is unknown, spent or
    /// expired changes nothing.
    public func verifyEmail(token secret: String, client: ClientInfo) async throws {
        let at = now()
        guard secret.utf8.count <= 128,
            try await repository.verifyEmail(
                tokenDigest: OpaqueSecret.digest(secret), at: at,
                recording: { AuthEvent(kind: .emailVerified, at: at, userID: $0, client: client) }) != nil
        else { throw IdentityError.invalidLink }
        observe(.emailVerified)
    }

    /// Mails a new confirmation link, which voids the earlier ones; false when the email is confirmed.
    public func resendVerification(user: AuthenticatedUser) async throws -> Bool {
        let account = try await requireAccount(user.userID)
        guard account.emailVerifiedAt == nil else { return false }
        let (token, mail) = verificationLink(for: account)
        try await repository.insertAccountToken(token, queueing: mail)
        return true
    }

    /// Throws ``IdentityError/emailUnverified`` when the policy keeps an unconfirmed account from what it
    /// asks for (its export, say).
    public func requireConfirmedEmail(_ userID: UUID) async throws {
        guard configuration.unverifiedAccess != .open else { return }
        guard try await requireAccount(userID).emailVerifiedAt != nil else { throw IdentityError.emailUnverified }
    }

    /// Whether `subject` is an account whose unconfirmed email keeps it from being valued. Subjects
    /// without an account are not.
    public func awaitsConfirmation(subject: String) async throws -> Bool {
        guard configuration.unverifiedAccess != .open, let id = UUID(uuidString: subject),
            let account = try await repository.account(id: id)
        else { return false }
        return account.emailVerifiedAt == nil
    }
}
