public import Foundation

/// An application registered to use QSPP as its OAuth 2.1 and OpenID Connect provider: a web app that
/// signs its users in, or a backend that calls QSPP's API as itself.
public struct OAuthClient: Sendable, Equatable {
    /// Whether the client can keep a secret (RFC 6749 §2.1).
    public enum Kind: String, Sendable, CaseIterable {
        case confidential
        /// A browser or native app: it authenticates with nothing, and proves itself with PKCE alone.
        case `public`
    }

    /// How the client proves itself at the token endpoint (RFC 7591 §2).
    public enum Authentication: String, Sendable, CaseIterable {
        case clientSecretBasic = "client_secret_basic"
        case clientSecretPost = "client_secret_post"
        /// A public client's.
        case none
    }

    public enum GrantType: String, Sendable, CaseIterable, Comparable {
        case authorizationCode = "authorization_code"
        case refreshToken = "refresh_token"
        case clientCredentials = "client_credentials"
        case tokenExchange = "urn:ietf:params:oauth:grant-type:token-exchange"

        public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
    }

    /// What a token may be used for. The OpenID scopes ask for claims about the person signing in; the
    /// others are QSPP's API, each enforced on the routes it covers.
    public enum Scope: String, Sendable, CaseIterable, Comparable {
        case openid
        case profile
        case email
        case offlineAccess = "offline_access"
        case consentRead = "consent:read"
        case consentWrite = "consent:write"
        case requestsManage = "requests:manage"
        case valuationRead = "valuation:read"
        case admin

        public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
    }

    /// The algorithm of the ID tokens issued to the client: ML-DSA-65 unless its library cannot
    /// verify that yet.
    public enum SigningAlgorithm: String, Sendable, CaseIterable {
        case mldsa65 = "ML-DSA-65"
        case eddsa = "EdDSA"
        case es256 = "ES256"
    }

    /// The `client_id`: random, and never reused.
    public let id: String
    public var name: String
    public let kind: Kind
    public let authentication: Authentication
    /// SHA-256 of the secret, in hex, for the secret methods (``OpaqueSecret/digest(_:)``): the secret
    /// itself is shown once and not kept.
    public var secretDigest: String?
    /// Matched exactly, character for character.
    public var redirectURIs: [String]
    public var grantTypes: Set<GrantType>
    public var scopes: Set<Scope>
    /// Where OpenID Connect back-channel logout tokens are posted.
    public var backChannelLogoutURI: String?
    /// Whether the client must push its authorization requests first (RFC 9126).
    public var requiresPushedRequests: Bool
    public var idTokenAlgorithm: SigningAlgorithm
    public let createdAt: Date
    /// The administrator who registered it.
    public let createdBy: UUID

    public init(
        id: String, name: String, kind: Kind, authentication: Authentication, secretDigest: String?,
        redirectURIs: [String], grantTypes: Set<GrantType>, scopes: Set<Scope>, backChannelLogoutURI: String?,
        requiresPushedRequests: Bool, idTokenAlgorithm: SigningAlgorithm, createdAt: Date, createdBy: UUID
    ) {
        self.id = id
        self.name = name
        self.kind = kind
        self.authentication = authentication
        self.secretDigest = secretDigest
        self.redirectURIs = redirectURIs
        self.grantTypes = grantTypes
        self.scopes = scopes
        self.backChannelLogoutURI = backChannelLogoutURI
        self.requiresPushedRequests = requiresPushedRequests
        self.idTokenAlgorithm = idTokenAlgorithm
        self.createdAt = createdAt
        self.createdBy = createdBy
    }

    public static let maximumNameLength = 100
    public static let maximumRedirectURIs = 10
    public static let maximumURILength = 2000
}

/// What an administrator asks for when registering a client, before it is checked.
public struct OAuthClientRegistration: Sendable, Equatable {
    public var name: String
    public var kind: OAuthClient.Kind
    /// Nil takes the kind's default: `client_secret_basic`, or `none` for a public client.
    public var authentication: OAuthClient.Authentication?
    public var redirectURIs: [String]
    public var grantTypes: Set<OAuthClient.GrantType>
    public var scopes: Set<OAuthClient.Scope>
    public var backChannelLogoutURI: String?
    public var requiresPushedRequests: Bool
    public var idTokenAlgorithm: OAuthClient.SigningAlgorithm

    public init(
        name: String, kind: OAuthClient.Kind, authentication: OAuthClient.Authentication? = nil,
        redirectURIs: [String] = [], grantTypes: Set<OAuthClient.GrantType>, scopes: Set<OAuthClient.Scope>,
        backChannelLogoutURI: String? = nil, requiresPushedRequests: Bool = false,
        idTokenAlgorithm: OAuthClient.SigningAlgorithm = .mldsa65
    ) {
        self.name = name
        self.kind = kind
        self.authentication = authentication
        self.redirectURIs = redirectURIs
        self.grantTypes = grantTypes
        self.scopes = scopes
        self.backChannelLogoutURI = backChannelLogoutURI
        self.requiresPushedRequests = requiresPushedRequests
        self.idTokenAlgorithm = idTokenAlgorithm
    }

    /// The registration's authentication method, once the rules between kind, method and grants hold.
    /// Throws ``IdentityError/invalidField(name:reason:)`` naming the first rule broken.
    func checked() throws -> OAuthClient.Authentication {
        func refuse(_ name: String, _ reason: String) -> IdentityError {
            IdentityError.invalidField(name, reason)
        }
        let trimmed = name.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty, trimmed.count <= OAuthClient.maximumNameLength,
            !trimmed.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
        else {
            throw refuse("name", "must be 1 to \(OAuthClient.maximumNameLength) characters with no control characters")
        }
        let authentication: OAuthClient.Authentication =
            authentication ?? (kind == .public ? OAuthClient.Authentication.none : .clientSecretBasic)
        switch (kind, authentication) {
        case (.public, .none), (.confidential, .clientSecretBasic), (.confidential, .clientSecretPost): break
        case (.public, _):
            throw refuse("tokenEndpointAuthMethod", "a public client keeps no secret, so it must be 'none'")
        case (.confidential, .none):
            throw refuse("tokenEndpointAuthMethod", "a confidential client must authenticate with its secret")
        }
        guard !grantTypes.isEmpty else { throw refuse("grantTypes", "must name at least one grant type") }
        if kind == .public {
            for grant in [OAuthClient.GrantType.clientCredentials, .tokenExchange] where grantTypes.contains(grant) {
                throw refuse("grantTypes", "\(grant.rawValue) needs a confidential client")
            }
        }
        if grantTypes.contains(.refreshToken), !grantTypes.contains(.authorizationCode) {
            throw refuse("grantTypes", "refresh_token comes only with authorization_code")
        }
        if grantTypes.contains(.authorizationCode) {
            guard !redirectURIs.isEmpty else {
                throw refuse("redirectUris", "authorization_code needs at least one redirect URI")
            }
        } else if !redirectURIs.isEmpty {
            throw refuse("redirectUris", "only a client with authorization_code has redirect URIs")
        }
        guard redirectURIs.count <= OAuthClient.maximumRedirectURIs, Set(redirectURIs).count == redirectURIs.count
        else {
            throw refuse("redirectUris", "at most \(OAuthClient.maximumRedirectURIs), each named once")
        }
        for uri in redirectURIs {
            if let problem = Self.problem(withURI: uri) { throw refuse("redirectUris", problem) }
        }
        if let uri = backChannelLogoutURI {
            if let problem = Self.problem(withURI: uri) { throw refuse("backchannelLogoutUri", problem) }
            guard grantTypes.contains(.authorizationCode) else {
                throw refuse("backchannelLogoutUri", "only a client that signs people in is told they signed out")
            }
        }
        guard !scopes.isEmpty else { throw refuse("scopes", "must name at least one scope") }
        return authentication
    }

    /// What is wrong with a redirect or logout URI, or nil. The URI must be absolute, https (or http to
    /// a loopback address, for native apps, RFC 8252 §7.3), without user information or a fragment,
    /// because it is compared character for character and an attacker's variant must never match.
    public static func problem(withURI text: String) -> String? {
        guard text.utf8.count <= OAuthClient.maximumURILength else {
            return "must be at most \(OAuthClient.maximumURILength) bytes"
        }
        guard !text.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value == 0x7F }),
            let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
            let host = components.host, !host.isEmpty
        else { return "must be an absolute URI with a host and no spaces" }
        guard components.user == nil, components.password == nil else {
            return "must not carry user information"
        }
        guard components.fragment == nil, !text.contains("#") else { return "must not have a fragment" }
        let loopback = ["localhost", "127.0.0.1", "[::1]", "::1"].contains(host.lowercased())
        guard scheme == "https" || (scheme == "http" && loopback) else {
            return "must use https (or http to localhost, 127.0.0.1 or [::1])"
        }
        return nil
    }
}

/// Registered clients, each change recorded as an audit event with its ledger entry in the same
/// transaction.
public protocol OAuthClientRepository: Sendable {
    /// Stores a new client and records `event`.
    func insertOAuthClient(_ client: OAuthClient, recording event: AuthEvent) async throws
    /// The clients not deleted, oldest first.
    func oauthClients() async throws -> [OAuthClient]
    /// The client, unless it is unknown or deleted.
    func oauthClient(id: String) async throws -> OAuthClient?
    /// Replaces the client's secret digest and records `event`; false when there is no such client.
    func replaceOAuthClientSecret(id: String, digest: String, recording event: AuthEvent) async throws -> Bool
    /// Marks the client deleted at `date` (its id is never given out again) and records `event`; false
    /// when there is no such client.
    func deleteOAuthClient(id: String, at date: Date, recording event: AuthEvent) async throws -> Bool
}
