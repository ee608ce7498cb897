import Crypto
import Foundation
import Kernel
import Outbox
import PQCrypto

/// Mail that tells a person what happened to their account: a sign-in from a new device, MFA turned
/// on or off, a password changed. Each is queued with the change that causes it. Only the new-device
/// notice may be turned off; the others are how a person learns that someone else has their account.
extension IdentityService {
    /// The notices a person may turn off.
    public static let optionalNotices: Set<MailTemplateName> = [.newSignIn]

    /// A message to the account's own address, in its language, sealed under its data key.
    func mail(
        _ template: MailTemplateName, to account: Account, values: [String: String], at date: Date
    )
        -> OutboundMail
    {
        OutboundMail(
            subject: account.subjectID, template: template, locale: account.locale,
            recipient: account.email.normalized, values: values, createdAt: date)
    }

    /// Records a change QSPP made on its own, with no one asking, and tells the administrator `admin`
    /// (while their account is one) by mail, in one transaction with the audit event; the mail links to
    /// `path` on the portal.
    public func recordSystemChange(
        _ kind: AuthEvent.Kind, details: [String: String], telling admin: UUID, template: MailTemplateName,
        values: [String: String], linking path: String
    ) async throws {
        var values = values
        values["link"] = link(path, token: nil)
        let event = AuthEvent(
            kind: kind, at: now(), userID: nil, sessionID: nil, client: ClientInfo(), details: details)
        var mails: [OutboundMail] = []
        if let account = try await repository.account(id: admin), account.roles.contains(.admin) {
            mails.append(mail(template, to: account, values: values, at: event.occurredAt))
        }
        try await repository.appendAuthEvent(event, queueing: mails)
        observe(kind)
    }

    /// A notice to the account's address of what `client` did, with when, from where and with what.
    func notice(_ template: MailTemplateName, to account: Account, client: ClientInfo) -> OutboundMail {
        let at = now()
        return mail(
            template, to: account,
            values: [
                "time": RFC3339.string(from: at), "address": client.ipAddress ?? "unknown",
                "browser": client.userAgent.map { String($0.prefix(200)) } ?? "unknown",
                "security": link("/my/security", token: nil), "reset": link("/forgot-password", token: nil),
            ], at: at)
    }

    /// What names a device without storing what it says: the user agent, keyed, so the table of known
    /// devices holds no browser strings.
    func deviceDigest(_ client: ClientInfo) -> String {
        Hex.encode(
            HMAC<SHA256>.authenticationCode(for: Data((client.userAgent ?? "").utf8), using: knownDeviceKey))
    }

    /// Sets the language of the account's mail from a language tag (`de`, `de-CH`); an empty tag means
    /// English.
    public func setLocale(_ user: AuthenticatedUser, _ tag: String) async throws -> Account {
        let trimmed = tag.trimmingCharacters(in: .whitespaces)
        let locale = Account.language(of: trimmed)
        guard trimmed.isEmpty || locale != nil else {
            throw IdentityError.invalidField("locale", "must be a language tag such as en or de")
        }
        try await repository.setLocale(userID: user.userID, locale: locale)
        return try await requireAccount(user.userID)
    }

    /// Turns optional notices on or off; others are refused.
    public func setMutedNotices(
        user: AuthenticatedUser, _ muted: Set<MailTemplateName>, client: ClientInfo
    )
        async throws
    {
        guard muted.isSubset(of: Self.optionalNotices) else {
            throw IdentityError.invalidField("notices", "only the new sign-in notice may be turned off")
        }
        let event = AuthEvent(
            kind: .noticesChanged, at: now(), userID: user.userID, sessionID: user.sessionID, client: client,
            details: ["muted": muted.map(\.rawValue).sorted().joined(separator: ",")])
        try await repository.setMutedNotices(userID: user.userID, muted, recording: event)
        observe(event.kind)
    }
}
