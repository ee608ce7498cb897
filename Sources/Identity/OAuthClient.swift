public import Foundation
public import PQCrypto

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
        /// A JWT signed with a key of the client's registered set (RFC 7523 §2.2, OIDC Core §9).
        case privateKeyJWT = "private_key_jwt"
        /// A public client's.
        case none

        /// Whether the client is given a secret to present.
        public var usesSecret: Bool { self == .clientSecretBasic || self == .clientSecretPost }
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

        /// The scopes that ask about the person signing in, which only a client that signs people in
        /// may have.
        public static let signIn: Set<Self> = [.openid, .profile, .email, .offlineAccess]
        /// The scopes that change data or act as staff: only a client that can keep a secret may hold
        /// them.
        public static let confidentialOnly: Set<Self> = [.consentWrite, .requestsManage, .admin]
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
    /// Where RP-initiated logout may send the browser afterwards, matched exactly.
    public var postLogoutRedirectURIs: [String]
    /// Whether the client must push its authorization requests first (RFC 9126).
    public var requiresPushedRequests: Bool
    /// The algorithm of the ID tokens issued to the client: ML-DSA-65 unless its library cannot verify
    /// that yet; only the algorithms QSPP signs with.
    public var idTokenAlgorithm: SigningAlgorithm
    /// The public keys (JWKs) a `private_key_jwt` client signs its assertions with.
    public var keys: [[String: String]]
    public let createdAt: Date
    /// The administrator who registered it.
    public let createdBy: UUID

    public init(
        id: String, name: String, kind: Kind, authentication: Authentication, secretDigest: String?,
        redirectURIs: [String], grantTypes: Set<GrantType>, scopes: Set<Scope>, backChannelLogoutURI: String?,
        postLogoutRedirectURIs: [String] = [], requiresPushedRequests: Bool, idTokenAlgorithm: SigningAlgorithm,
        keys: [[String: String]] = [], createdAt: Date, createdBy: UUID
    ) {
        self.keys = keys
        self.postLogoutRedirectURIs = postLogoutRedirectURIs
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

    /// Whether `uri` is one of the client's redirect URIs: character for character, except that a
    /// native app's loopback URI may name any port, since the app learns its port only when it listens
    /// (RFC 8252 §7.3).
    public func accepts(redirectURI uri: String) -> Bool {
        if redirectURIs.contains(uri) { return true }
        guard let presented = Self.loopbackWithoutPort(uri) else { return false }
        return redirectURIs.contains { Self.loopbackWithoutPort($0) == presented }
    }

    /// A loopback http URI with its port taken out, or nil for any other URI.
    static func loopbackWithoutPort(_ uri: String) -> String? {
        for host in ["http://127.0.0.1", "http://[::1]"] where uri.hasPrefix(host) {
            var rest = uri.dropFirst(host.count)
            if rest.first == ":" {
                let digits = rest.dropFirst().prefix { $0.isASCII && $0.isNumber }
                guard !digits.isEmpty, digits.count <= 5 else { return nil }
                rest = rest.dropFirst(1 + digits.count)
            }
            guard rest.isEmpty || rest.first == "/" else { return nil }
            return host + rest
        }
        return nil
    }

    public static let maximumNameLength = 100
    public static let maximumNameBytes = 400
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
    public var postLogoutRedirectURIs: [String]
    public var requiresPushedRequests: Bool
    public var idTokenAlgorithm: SigningAlgorithm
    /// For `private_key_jwt`: the client's public keys.
    public var keys: [[String: String]]

    public init(
        name: String, kind: OAuthClient.Kind, authentication: OAuthClient.Authentication? = nil,
        redirectURIs: [String] = [], grantTypes: Set<OAuthClient.GrantType>, scopes: Set<OAuthClient.Scope>,
        backChannelLogoutURI: String? = nil, postLogoutRedirectURIs: [String] = [],
        requiresPushedRequests: Bool = false,
        idTokenAlgorithm: SigningAlgorithm = .mldsa65, keys: [[String: String]] = []
    ) {
        self.keys = keys
        self.postLogoutRedirectURIs = postLogoutRedirectURIs
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
    /// `privateLogoutEndpoints` lets the back-channel logout URI name a loopback or private address.
    func checked(privateLogoutEndpoints: Bool = false) throws -> OAuthClient.Authentication {
        func refuse(_ name: String, _ reason: String) -> IdentityError {
            IdentityError.invalidField(name, reason)
        }
        let trimmed = name.trimmingCharacters(in: .whitespaces)
        // Format characters (bidi overrides, zero-width joiners) would let a name pose as another on
        // a consent screen.
        guard !trimmed.isEmpty, trimmed.count <= OAuthClient.maximumNameLength,
            trimmed.utf8.count <= OAuthClient.maximumNameBytes,
            !trimmed.unicodeScalars.contains(where: {
                [.control, .format].contains($0.properties.generalCategory)
            })
        else {
            throw refuse(
                "name",
                "must be 1 to \(OAuthClient.maximumNameLength) characters with no control or format characters")
        }
        let authentication: OAuthClient.Authentication =
            authentication ?? (kind == .public ? OAuthClient.Authentication.none : .clientSecretBasic)
        switch (kind, authentication) {
        case (.public, .none), (.confidential, .clientSecretBasic), (.confidential, .clientSecretPost): break
        case (.confidential, .privateKeyJWT):
            if let problem = OAuthClient.problem(withKeys: keys) { throw refuse("jwks", problem) }
        case (.public, _):
            throw refuse("tokenEndpointAuthMethod", "a public client keeps no secret, so it must be 'none'")
        case (.confidential, .none):
            throw refuse("tokenEndpointAuthMethod", "a confidential client must authenticate with a secret or a key")
        }
        if authentication != .privateKeyJWT, !keys.isEmpty {
            throw refuse("jwks", "only a private_key_jwt client registers keys")
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
        guard postLogoutRedirectURIs.count <= OAuthClient.maximumRedirectURIs,
            Set(postLogoutRedirectURIs).count == postLogoutRedirectURIs.count
        else {
            throw refuse("postLogoutRedirectUris", "at most \(OAuthClient.maximumRedirectURIs), each named once")
        }
        if !postLogoutRedirectURIs.isEmpty, !scopes.contains(.openid) {
            throw refuse("postLogoutRedirectUris", "only a client that signs people in with openid signs them out")
        }
        for uri in postLogoutRedirectURIs {
            if let problem = Self.problem(withURI: uri) { throw refuse("postLogoutRedirectUris", problem) }
        }
        if let uri = backChannelLogoutURI {
            if let problem = Self.problem(withLogoutURI: uri, allowingPrivateNetworks: privateLogoutEndpoints) {
                throw refuse("backchannelLogoutUri", problem)
            }
            guard scopes.contains(.openid) else {
                throw refuse(
                    "backchannelLogoutUri", "only a client that signs people in with openid is told they signed out")
            }
        }
        guard !scopes.isEmpty else { throw refuse("scopes", "must name at least one scope") }
        if !grantTypes.contains(.authorizationCode), let scope = scopes.intersection(OAuthClient.Scope.signIn).min() {
            throw refuse("scopes", "\(scope.rawValue) asks about a person signing in, which needs authorization_code")
        }
        if scopes.contains(.offlineAccess), !grantTypes.contains(.refreshToken) {
            throw refuse("scopes", "offline_access needs the refresh_token grant")
        }
        if kind == .public, let scope = scopes.intersection(OAuthClient.Scope.confidentialOnly).min() {
            throw refuse("scopes", "\(scope.rawValue) needs a confidential client")
        }
        if requiresPushedRequests, !grantTypes.contains(.authorizationCode) {
            throw refuse("requirePushedAuthorizationRequests", "only authorization requests are pushed")
        }
        return authentication
    }

    /// What is wrong with a redirect URI, or nil. The URI is compared character for character, so it
    /// must be in one canonical form that no variant an attacker registers elsewhere can share: ASCII
    /// (no lookalike or invisible characters), https (or http to 127.0.0.1 or [::1] for native apps,
    /// RFC 8252 §7.3; `localhost` is not recommended, §8.3), a lower-case scheme and host with no
    /// escapes, a port only when it is not the scheme's own, no user information, no fragment, no dot
    /// segments or backslashes in the path, and none of the parameters the answer will carry.
    public static func problem(withURI text: String) -> String? {
        guard text.utf8.count <= OAuthClient.maximumURILength else {
            return "must be at most \(OAuthClient.maximumURILength) bytes"
        }
        guard text.utf8.allSatisfy({ (0x21...0x7E).contains($0) }) else {
            return "must be printable ASCII without spaces (write other characters as IDNA and percent-escapes)"
        }
        guard !text.contains("\\") else { return "must not contain a backslash" }
        guard !text.contains("#") else { return "must not have a fragment" }
        guard let components = URLComponents(string: text, encodingInvalidCharacters: false),
            let scheme = components.scheme, let host = Self.host(of: text), !host.isEmpty
        else { return "must be an absolute URI with a host" }
        guard components.user == nil, components.password == nil, !host.contains("@") else {
            return "must not carry user information"
        }
        guard scheme == scheme.lowercased(), host == host.lowercased() else {
            return "must write its scheme and host in lower case"
        }
        guard !host.contains("%") else { return "must not escape its host" }
        let loopback = ["127.0.0.1", "[::1]"].contains(host)
        guard scheme == "https" || (scheme == "http" && loopback) else {
            return "must use https (or http to 127.0.0.1 or [::1])"
        }
        let authority = text.dropFirst(scheme.count + 3).prefix { $0 != "/" && $0 != "?" }
        if let port = components.port {
            guard (1...65535).contains(port), authority.hasSuffix(":" + String(port)),
                port != (scheme == "https" ? 443 : 80)
            else { return "must write its port as a number from 1 to 65535, and leave out the scheme's own" }
        } else if authority.hasSuffix(":") {
            return "must write its port as a number from 1 to 65535, and leave out the scheme's own"
        }
        let segments = components.percentEncodedPath.split(separator: "/", omittingEmptySubsequences: false)
        guard
            !segments.contains(where: {
                [".", ".."].contains($0.lowercased().replacingOccurrences(of: "%2e", with: "."))
            })
        else { return "must not have dot segments in its path" }
        let answered: Set<String> = [
            "code", "state", "iss", "error", "error_description", "error_uri", "id_token", "access_token",
            "token_type", "expires_in", "scope", "session_state",
        ]
        if let name = components.queryItems?.map(\.name).first(where: answered.contains) {
            return "must not carry '\(name)', which the answer adds"
        }
        return nil
    }

    /// What is wrong with a back-channel logout URI, or nil: QSPP posts to it from the server, so it
    /// must be https to a name, never to an address (and so never to loopback or a private network),
    /// unless an operator allows private networks for relying parties inside their own. The sender
    /// checks the address again when it connects, since a name can resolve anywhere.
    public static func problem(withLogoutURI text: String, allowingPrivateNetworks: Bool = false) -> String? {
        if let problem = problem(withURI: text) { return problem }
        if allowingPrivateNetworks { return nil }
        guard let host = host(of: text), text.hasPrefix("https://") else { return "must use https" }
        let address = host.hasPrefix("[") || host.split(separator: ".").allSatisfy { $0.allSatisfy(\.isNumber) }
        guard !address, host != "localhost", !host.hasSuffix(".localhost") else {
            return "must name a host, not an address or localhost"
        }
        return nil
    }

    /// The host as written, after `scheme://` and without a port: Foundation's `host` decodes IDNA and
    /// escapes, and the check is of what will be compared.
    static func host(of text: String) -> String? {
        guard let start = text.range(of: "://")?.upperBound else { return nil }
        let authority = text[start...].prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        if authority.hasPrefix("[") {
            return authority.firstIndex(of: "]").map { String(authority[...$0]) }
        }
        return String(authority.prefix { $0 != ":" })
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
