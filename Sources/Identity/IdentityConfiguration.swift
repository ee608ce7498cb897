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
    /// Whether a client's back-channel logout endpoint may be on a loopback or private address (and
    /// plain http there): off, so a client registration cannot make QSPP call into its own network.
    public var logoutEndpointsMayBePrivate = false
    /// Whether clients may register themselves (RFC 7591) with an initial access token an administrator
    /// issued.
    public var dynamicClientRegistration = false

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
    /// The OAuth client the token was issued to, and what it may do; nil for QSPP's own clients (the
    /// portal and the first-party API), whose tokens carry the user's whole rights.
    public let delegation: Delegation?
    /// The thumbprint of the DPoP key the token is bound to: the token is good only with a proof by it.
    public var boundKey: String?

    public init(
        userID: UUID, sessionID: UUID, roles: Set<Role>, authenticationMethods: [String], delegation: Delegation? = nil
    ) {
        self.userID = userID
        self.sessionID = sessionID
        self.authenticationMethods = authenticationMethods
        self.delegation = delegation
        // An application's token never carries more of the person's rights than its scopes name; a
        // machine client's roles come from its scopes (``machine(clientID:scopes:)``).
        self.roles = delegation.map { $0.isMachine ? roles : Self.roles(roles, within: $0.scopes) } ?? roles
        self.subjectID =
            delegation?.isMachine == true ? "client:" + (delegation?.clientID ?? "") : userID.lowercasedString
    }

    /// A client acting for itself (client credentials). It has no account: its id stands in for a user id
    /// in audit records (a client id is 128 bits, as a UUID is), and it holds the staff rights its scopes
    /// name, on the routes those scopes open.
    public static func machine(clientID: String, scopes: Set<OAuthClient.Scope>) -> AuthenticatedUser? {
        guard let bytes = Base64URL.decode(clientID), bytes.count == 16 else { return nil }
        let id = bytes.withUnsafeBytes { UUID(uuid: $0.load(as: uuid_t.self)) }
        return AuthenticatedUser(
            userID: id, sessionID: id, roles: scopes.contains(.admin) ? [.admin, .dpo] : [.dpo],
            authenticationMethods: [],
            delegation: Delegation(clientID: clientID, scopes: scopes, isMachine: true))
    }

    public var isAdmin: Bool { roles.contains(.admin) }
    /// Admins and DPOs may read any subject's records.
    public var canReadAnySubject: Bool { roles.contains(.admin) || roles.contains(.dpo) }
    public var isMachine: Bool { delegation?.isMachine == true }

    /// A person's roles as an application's token carries them: their staff rights only with the
    /// `admin` scope, whose consent screen says so. `consent:read` and `requests:manage` are about the
    /// person's own records, even when the person is a DPO.
    static func roles(_ roles: Set<Role>, within scopes: Set<OAuthClient.Scope>) -> Set<Role> {
        scopes.contains(.admin) ? roles : roles.intersection([.user])
    }
}

/// What an OAuth client's token allows.
public struct Delegation: Sendable, Equatable {
    public let clientID: String
    public let scopes: Set<OAuthClient.Scope>
    public let isMachine: Bool

    public init(clientID: String, scopes: Set<OAuthClient.Scope>, isMachine: Bool) {
        self.clientID = clientID
        self.scopes = scopes
        self.isMachine = isMachine
    }
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
