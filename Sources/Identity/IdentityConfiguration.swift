import Foundation
import Kernel
import PQCrypto
public import WebAuthn

/// The identity settings operators may change; the defaults follow the issue and OWASP.
public struct IdentityConfiguration: Sendable {
    public var refreshTokenLifetime: TimeInterval = 7 * 24 * 3600
    public var rememberMeRefreshTokenLifetime: TimeInterval = 30 * 24 * 3600
    /// Two tabs refreshing with one token at once both succeed inside this window.
    public var refreshGraceWindow: TimeInterval = 10
    public var maximumGraceReuses = 2
    /// How long this process trusts its cached view that a session is active. Revocation made by another
    /// replica takes effect within this time; revocation made here takes effect at once.
    public var sessionCheckInterval: TimeInterval = 5
    public var loginThrottle = LoginThrottlePolicy.standard
    public var totpIssuer = "QSPP"
    public var unverifiedAccess = UnverifiedAccess.restricted
    /// The site passkeys are made for: its RP ID and the origins of its pages.
    public var relyingParty = RelyingParty(id: "localhost", name: "QSPP", origins: ["http://localhost:8080"])

    public init() {}
}

/// What an account may do before its owner confirms its email.
public enum UnverifiedAccess: String, Sendable, CaseIterable {
    /// Everything a confirmed account may.
    case open
    /// Sign in and use the portal, but not export its data or have it valued.
    case restricted
    /// Nothing: sign-in waits for the confirmation.
    case closed
}

/// The caller behind a verified access token.
public struct AuthenticatedUser: Sendable, Equatable {
    public let userID: UUID
    public let sessionID: UUID
    public let roles: Set<Role>
    public let authenticationMethods: [String]
    /// The user's id as consent records name them; kept, since every request with a caller asks for it.
    public let subjectID: String

    public init(userID: UUID, sessionID: UUID, roles: Set<Role>, authenticationMethods: [String]) {
        self.userID = userID
        self.sessionID = sessionID
        self.roles = roles
        self.authenticationMethods = authenticationMethods
        self.subjectID = userID.lowercasedString
    }
    public var isAdmin: Bool { roles.contains(.admin) }
    /// Admins and DPOs may read any subject's records.
    public var canReadAnySubject: Bool { roles.contains(.admin) || roles.contains(.dpo) }
}

/// What a successful login or refresh hands to the client.
public struct TokenGrant: Sendable {
    public let account: Account
    public let sessionID: UUID
    public let accessToken: String
    public let accessTokenExpiresAt: Date
    public let refreshToken: String
    public let refreshTokenExpiresAt: Date
    public let rememberMe: Bool
    /// A sign-in's device cookie, for the client to keep and present at its next sign-in to this account
    /// (``IdentityService/throttleKey(email:deviceCookie:)``); a refresh makes none.
    public var deviceCookie: String? = nil
}

public enum LoginOutcome: Sendable {
    case authenticated(TokenGrant)
    /// The password was right and MFA is on: exchange the challenge and a code for tokens.
    /// The password was right; a second factor must follow. `passkeys` says whether the account has
    /// passkeys to offer as that factor.
    case mfaRequired(challenge: String, passkeys: Bool)
}
