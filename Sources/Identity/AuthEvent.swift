import Foundation

/// One structured audit record of something that happened in identity. Issue #4 chains these into
/// the signed ledger.
public struct AuthEvent: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        case registered = "register"
        case loginSucceeded = "login.success"
        case loginFailed = "login.failure"
        case loginThrottled = "login.throttled"
        case mfaChallenged = "mfa.challenge"
        case mfaSucceeded = "mfa.success"
        case mfaFailed = "mfa.failure"
        case mfaEnabled = "mfa.enabled"
        case mfaDisabled = "mfa.disabled"
        case recoveryCodeUsed = "mfa.recovery_code_used"
        case passkeyAdded = "passkey.added"
        case passkeyRenamed = "passkey.renamed"
        case passkeyRemoved = "passkey.removed"
        case passkeyRejected = "passkey.rejected"
        case refreshed = "refresh"
        case refreshReuseInGrace = "refresh.reuse_in_grace"
        case refreshReuseDetected = "refresh.reuse_detected"
        case logout = "logout"
        case logoutAll = "logout.all"
        case sessionRevoked = "session.revoked"
        case passwordChanged = "password.changed"
        case passwordRemoved = "password.removed"
        case passwordRehashed = "password.rehashed"
        case passwordResetRequested = "password.reset_requested"
        case passwordReset = "password.reset"
        case mailRequeued = "mail.requeued"
        case registrationRepeated = "register.repeated"
        case emailVerified = "email.verified"
        case emailChangeRequested = "email.change_requested"
        case emailChanged = "email.changed"
        case emailChangeUndone = "email.change_undone"
        case noticesChanged = "notices.changed"
        case accountDeleted = "account.deleted"
        case profileRectified = "profile.rectified"
        case adminCreated = "admin.created"
        case rolesChanged = "roles.changed"
        case signingKeyCreated = "key.created"
        case signingKeyRotated = "key.rotated"
        case masterKeyRotated = "key.master_rotated"
        case oauthClientRegistered = "oauth_client.registered"
        case oauthClientSecretRotated = "oauth_client.secret_rotated"
        case oauthClientDeleted = "oauth_client.deleted"
        case oauthRegistrationTokenIssued = "oauth_client.registration_token_issued"
        case oauthGranted = "oauth.granted"
        case oauthDisconnected = "oauth.disconnected"
        case oauthCodeExchanged = "oauth.code_exchanged"
        case oauthCodeReplayed = "oauth.code_replayed"
        case oauthTokenRevoked = "oauth.token_revoked"
        case webhookRegistered = "webhook.registered"
        case webhookSecretRotated = "webhook.secret_rotated"
        case webhookEnabled = "webhook.enabled"
        case webhookDisabled = "webhook.disabled"
        case webhookDeleted = "webhook.deleted"
        case webhookReplayed = "webhook.replayed"
        case downstreamRegistered = "downstream.registered"
        case downstreamRetired = "downstream.retired"
        case propertyRegistered = "property.registered"
        case propertyRetired = "property.retired"
        case visitorLinked = "visitor.linked"
    }

    public let id: UUID
    public let kind: Kind
    public let occurredAt: Date
    public let userID: UUID?
    public let sessionID: UUID?
    public let client: ClientInfo
    /// Extra facts as flat key/value pairs; never a password, token, code or email.
    public let details: [String: String]

    public init(
        kind: Kind, at: Date, userID: UUID? = nil, sessionID: UUID? = nil, client: ClientInfo = ClientInfo(),
        details: [String: String] = [:]
    ) {
        self.id = UUID()
        self.kind = kind
        self.occurredAt = at
        self.userID = userID
        self.sessionID = sessionID
        self.client = client
        self.details = details
    }

    public init(
        id: UUID, kind: Kind, occurredAt: Date, userID: UUID?, sessionID: UUID?, client: ClientInfo,
        details: [String: String]
    ) {
        self.id = id
        self.kind = kind
        self.occurredAt = occurredAt
        self.userID = userID
        self.sessionID = sessionID
        self.client = client
        self.details = details
    }
}
