public import Foundation

/// A message a change asked for, queued in the same transaction as the change: what the outbox
/// stores and its sender renders. The recipient and the values are personal data, sealed at rest
/// under `subject`'s data key, so erasing the subject drops the message with the rest.
public struct OutboundMail: Sendable, Equatable {
    public let id: UUID
    /// Whose data key seals the message.
    public let subject: String
    public let template: MailTemplateName
    /// A language tag the templates may have, such as `de`; the sender falls back to English.
    public let locale: String
    public let recipient: String
    /// What the template shows: a link, a code, a time. Never a password.
    public let values: [String: String]
    public let createdAt: Date

    public init(
        id: UUID = UUID(), subject: String, template: MailTemplateName, locale: String?, recipient: String,
        values: [String: String] = [:], createdAt: Date
    ) {
        self.id = id
        self.subject = subject
        self.template = template
        self.locale = locale ?? "en"
        self.recipient = recipient
        self.values = values
        self.createdAt = createdAt
    }
}

/// The name of a message's templates, one per kind of message.
public struct MailTemplateName: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }

    public static let passwordReset = MailTemplateName(rawValue: "password-reset")
    public static let passwordChanged = MailTemplateName(rawValue: "password-changed")
    public static let emailVerification = MailTemplateName(rawValue: "email-verification")
    public static let mfaEnabled = MailTemplateName(rawValue: "mfa-enabled")
    public static let mfaDisabled = MailTemplateName(rawValue: "mfa-disabled")
    /// To a new address: the link that moves the account there.
    public static let emailChange = MailTemplateName(rawValue: "email-change")
    /// To the address an account left: what happened, and the link that moves it back.
    public static let emailChanged = MailTemplateName(rawValue: "email-changed")
    /// To the address an account is back at: what happened, and that the password should change.
    public static let emailChangeUndone = MailTemplateName(rawValue: "email-change-undone")
    public static let passkeyAdded = MailTemplateName(rawValue: "passkey-added")
    public static let passkeyRemoved = MailTemplateName(rawValue: "passkey-removed")
    /// A sign-in from a browser or app the account has not signed in from before; people may turn it off.
    public static let newSignIn = MailTemplateName(rawValue: "new-sign-in")
    /// A data-subject request filed, extended, completed or rejected (GDPR Art. 12(3) and (4)).
    public static let requestReceived = MailTemplateName(rawValue: "request-received")
    public static let requestExtended = MailTemplateName(rawValue: "request-extended")
    public static let requestCompleted = MailTemplateName(rawValue: "request-completed")
    public static let requestRejected = MailTemplateName(rawValue: "request-rejected")
    /// To an account's owner, when someone tried to register with its email.
    public static let registrationRepeated = MailTemplateName(rawValue: "registration-repeated")
    /// To the administrator who registered a webhook endpoint that QSPP stopped sending to.
    public static let webhookDisabled = MailTemplateName(rawValue: "webhook-disabled")

    /// Every message QSPP sends: each has a subject, a text and an HTML template in every language.
    public static let all: [MailTemplateName] = [
        .passwordReset, .passwordChanged, .emailVerification, .registrationRepeated, .mfaEnabled, .mfaDisabled,
        .passkeyAdded, .passkeyRemoved, .emailChange, .emailChanged, .emailChangeUndone,
        .newSignIn, .requestReceived, .requestExtended, .requestCompleted, .requestRejected, .webhookDisabled,
    ]
}
