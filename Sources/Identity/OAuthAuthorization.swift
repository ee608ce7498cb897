import Crypto
public import Foundation
import PQCrypto

/// An authorization request (RFC 6749 §4.1.1 with PKCE, RFC 7636, and OpenID Connect Core §3.1.2.1),
/// checked against its client. Only what QSPP supports is accepted: the code flow, S256, and the
/// `query` and `form_post` response modes.
public struct AuthorizationRequest: Sendable, Equatable {
    public enum ResponseMode: String, Sendable {
        case query
        case formPost = "form_post"
    }

    public let clientID: String
    public let redirectURI: String
    public let scopes: Set<OAuthClient.Scope>
    public let state: String?
    public let nonce: String?
    public let codeChallenge: String
    public let responseMode: ResponseMode
    /// `prompt=none`: answer without showing anything, or fail with `login_required` or `consent_required`.
    public let silent: Bool
    /// `prompt=consent`: ask again even when the person granted these scopes before.
    public let forcesConsent: Bool
    /// `prompt=login`: ask the person to sign in again.
    public let forcesLogin: Bool
    /// `max_age`: a sign-in older than this many seconds must be repeated.
    public let maximumAuthenticationAge: Int?
    /// The pushed request this one came from (RFC 9126), spent by the code it leads to.
    public internal(set) var pushedRequestDigest: String?

    public static let maximumStateLength = 1024
    public static let maximumNonceLength = 512

    /// Where an error may be sent once the client and its redirect URI are known.
    public struct Reply: Sendable, Equatable {
        public let redirectURI: String
        public let state: String?
        public let responseMode: ResponseMode
    }

    public var reply: Reply { Reply(redirectURI: redirectURI, state: state, responseMode: responseMode) }
}

/// Why an authorization request failed. Until the client and redirect URI are known to match, nothing
/// may be sent to the redirect URI (RFC 6749 §4.1.2.1): the person is shown the reason instead.
public enum AuthorizationFailure: Error, Equatable, Sendable {
    case unredirectable(String)
    case redirect(OAuthError, AuthorizationRequest.Reply)
}

extension AuthorizationRequest {
    /// Checks `parameters` (in the order they came, repeats included) against `client`, which is the
    /// registered client named by `client_id`, or nil when there is none.
    public static func checked(
        _ parameters: [(name: String, value: String)], client: OAuthClient?, pushed: Bool = false
    ) throws(AuthorizationFailure) -> AuthorizationRequest {
        var values: [String: String] = [:]
        var repeated: Set<String> = []
        for (name, value) in parameters {
            if values[name] != nil { repeated.insert(name) }
            values[name] = value
        }
        guard !repeated.contains("client_id"), let clientID = values["client_id"], !clientID.isEmpty else {
            throw .unredirectable("The request does not name one application (client_id).")
        }
        guard let client, client.id == clientID, client.grantTypes.contains(.authorizationCode) else {
            throw .unredirectable("The application that sent you here is not registered to sign people in.")
        }
        guard !repeated.contains("redirect_uri"), let redirectURI = values["redirect_uri"],
            client.accepts(redirectURI: redirectURI)
        else {
            throw .unredirectable(
                "The address the application asked to return to is not one it registered, so you were not sent on.")
        }
        let responseMode: ResponseMode = values["response_mode"].flatMap(ResponseMode.init(rawValue:)) ?? .query
        let state = values["state"]
        let reply = Reply(
            redirectURI: redirectURI, state: state.flatMap { $0.utf8.count <= maximumStateLength ? $0 : nil },
            responseMode: responseMode)
        func refuse(_ error: OAuthError) -> AuthorizationFailure { .redirect(error, reply) }

        if let name = repeated.sorted().first {
            throw refuse(.invalidRequest("a parameter is repeated: \(Self.known(name))"))
        }
        if let mode = values["response_mode"], ResponseMode(rawValue: mode) == nil {
            throw refuse(.invalidRequest("response_mode must be query or form_post"))
        }
        if let state, state.utf8.count > maximumStateLength {
            throw refuse(.invalidRequest("state is longer than \(maximumStateLength) bytes"))
        }
        guard values["response_type"] == "code" else {
            throw refuse(
                OAuthError(
                    values["response_type"] == nil ? .invalidRequest : .unsupportedResponseType,
                    "response_type must be code"))
        }
        if values["request"] != nil {
            throw refuse(OAuthError(.requestNotSupported, "request objects are not supported"))
        }
        if values["request_uri"] != nil {
            throw refuse(.invalidRequest("request_uri names a pushed request, which cannot carry another"))
        }
        if client.requiresPushedRequests, !pushed {
            throw refuse(.invalidRequest("this client must push its authorization requests (PAR)"))
        }
        let scopes = try Self.scopes(values["scope"], client: client, refuse: refuse)
        guard let challenge = values["code_challenge"] else {
            throw refuse(.invalidRequest("code_challenge is required (PKCE with S256)"))
        }
        guard values["code_challenge_method"] == "S256" else {
            throw refuse(.invalidRequest("code_challenge_method must be S256"))
        }
        guard PKCE.isChallenge(challenge) else {
            throw refuse(.invalidRequest("code_challenge must be the 43-character base64url SHA-256 of the verifier"))
        }
        let nonce = values["nonce"]
        if let nonce, nonce.isEmpty || nonce.utf8.count > maximumNonceLength {
            throw refuse(.invalidRequest("nonce must be 1 to \(maximumNonceLength) bytes"))
        }
        let prompts = Set((values["prompt"] ?? "").split(separator: " ").map(String.init))
        guard prompts.isSubset(of: ["none", "login", "consent"]), !(prompts.contains("none") && prompts.count > 1)
        else { throw refuse(.invalidRequest("prompt must be none, or any of login and consent")) }
        var maximumAge: Int?
        if let text = values["max_age"] {
            guard let age = Int(text), age >= 0, text.utf8.count <= 9 else {
                throw refuse(.invalidRequest("max_age must be a whole number of seconds"))
            }
            maximumAge = age
        }
        return AuthorizationRequest(
            clientID: clientID, redirectURI: redirectURI, scopes: scopes, state: state, nonce: nonce,
            codeChallenge: challenge, responseMode: responseMode, silent: prompts.contains("none"),
            forcesConsent: prompts.contains("consent"), forcesLogin: prompts.contains("login"),
            maximumAuthenticationAge: maximumAge, pushedRequestDigest: nil)
    }

    /// The scopes asked for: each known, each registered for the client, and at least one.
    static func scopes(
        _ text: String?, client: OAuthClient, refuse: (OAuthError) -> AuthorizationFailure
    ) throws(AuthorizationFailure) -> Set<OAuthClient.Scope> {
        do {
            return try OAuthClient.Scope.parse(text, allowed: client.scopes)
        } catch {
            throw refuse(error)
        }
    }

    /// A parameter's name for an error text: only names of the protocol are echoed.
    private static func known(_ name: String) -> String {
        let names: Set<String> = [
            "response_type", "scope", "state", "nonce", "code_challenge", "code_challenge_method", "response_mode",
            "prompt", "max_age", "request", "request_uri",
        ]
        return names.contains(name) ? name : "an extension parameter"
    }
}

extension OAuthClient.Scope {
    /// A space-separated scope list (RFC 6749 §3.3): every scope known and in `allowed`, at least one.
    public static func parse(_ text: String?, allowed: Set<Self>) throws(OAuthError) -> Set<Self> {
        guard let text, !text.isEmpty else { throw .invalidScope("scope must name at least one scope") }
        guard text.utf8.count <= 1024 else { throw .invalidScope("scope is too long") }
        var scopes: Set<Self> = []
        for word in text.split(separator: " ", omittingEmptySubsequences: true) {
            guard let scope = Self(rawValue: String(word)) else {
                throw .invalidScope("a scope is not one QSPP knows")
            }
            guard allowed.contains(scope) else {
                throw .invalidScope("\(scope.rawValue) is not registered for this client")
            }
            scopes.insert(scope)
        }
        guard !scopes.isEmpty else { throw .invalidScope("scope must name at least one scope") }
        return scopes
    }

    /// What granting the scope lets the application do, in the words of the consent screen.
    public var explanation: String {
        switch self {
        case .openid: "Know who you are when you sign in (your account id)."
        case .profile: "See your display name."
        case .email: "See your email address and whether it is confirmed."
        case .offlineAccess: "Keep access while you are away, until you disconnect it."
        case .consentRead: "Read your consent choices and their receipts."
        case .consentWrite: "Record consent choices for you."
        case .requestsManage: "File and follow your data requests."
        case .valuationRead: "See what your data is worth."
        case .admin: "Use your staff rights (administrator or DPO), over everyone's records."
        }
    }

    /// Spaced, sorted: how scopes are written in tokens and answers.
    public static func text(_ scopes: Set<Self>) -> String {
        scopes.sorted().map(\.rawValue).joined(separator: " ")
    }
}

/// Proof Key for Code Exchange with S256 (RFC 7636 §4).
public enum PKCE {
    /// A challenge is the unpadded base64url of a SHA-256 digest: 43 characters of that alphabet.
    static func isChallenge(_ text: String) -> Bool {
        text.utf8.count == 43 && Base64URL.decode(text)?.count == 32
    }

    /// Whether `verifier` (43 to 128 unreserved characters) hashes to `challenge`.
    public static func verifies(_ verifier: String, challenge: String) -> Bool {
        let bytes = Array(verifier.utf8)
        guard (43...128).contains(bytes.count),
            bytes.allSatisfy({ byte in
                switch byte {
                case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                    UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                    UInt8(ascii: "~"):
                    true
                default: false
                }
            })
        else { return false }
        let computed = Base64URL.encode(Data(SHA256.hash(data: bytes)))
        return ConstantTime.equal(Array(computed.utf8), Array(challenge.utf8))
    }
}

/// An authorization code as stored: only its digest, who it was issued to and for what, and the
/// session that its exchange started (which a second use of the code revokes).
public struct AuthorizationCode: Sendable, Equatable {
    public let digest: String
    public let clientID: String
    public let userID: UUID
    public let redirectURI: String
    public let scopes: Set<OAuthClient.Scope>
    public let nonce: String?
    public let codeChallenge: String
    /// When the person signed in, and how: the ID token's `auth_time` and `amr`.
    public let authenticatedAt: Date
    public let authenticationMethods: [String]
    public let expiresAt: Date
    /// The portal session the person approved from: signing out of it signs the application out too.
    public let webSessionID: UUID?

    public init(
        digest: String, clientID: String, userID: UUID, redirectURI: String, scopes: Set<OAuthClient.Scope>,
        nonce: String?, codeChallenge: String, authenticatedAt: Date, authenticationMethods: [String], expiresAt: Date,
        webSessionID: UUID? = nil
    ) {
        self.webSessionID = webSessionID
        self.digest = digest
        self.clientID = clientID
        self.userID = userID
        self.redirectURI = redirectURI
        self.scopes = scopes
        self.nonce = nonce
        self.codeChallenge = codeChallenge
        self.authenticatedAt = authenticatedAt.roundedToMicroseconds
        self.authenticationMethods = authenticationMethods
        self.expiresAt = expiresAt.roundedToMicroseconds
    }

    /// Codes are single-use and short-lived (RFC 9700 §4.2.1 asks for no more than a minute's use).
    public static let lifetime: TimeInterval = 60
}

/// An authorization request a client pushed (RFC 9126): its parameters, kept under the digest of the
/// `request_uri` handed back, until it is used for a code or expires.
public struct PushedRequest: Sendable, Equatable {
    public let digest: String
    public let clientID: String
    /// The parameters as the client sent them, form-encoded.
    public let parameters: String
    public let expiresAt: Date

    public init(digest: String, clientID: String, parameters: String, expiresAt: Date) {
        self.digest = digest
        self.clientID = clientID
        self.parameters = parameters
        self.expiresAt = expiresAt.roundedToMicroseconds
    }

    /// Long enough for a sign-in with a second factor on the way.
    public static let lifetime: TimeInterval = 300
    public static let uriPrefix = "urn:ietf:params:oauth:request_uri:"
}

/// What a person let an application do: the scopes granted, remembered so the consent screen is not
/// shown again for them.
public struct OAuthGrant: Sendable, Equatable {
    public let userID: UUID
    public let clientID: String
    public let scopes: Set<OAuthClient.Scope>
    public let grantedAt: Date

    public init(userID: UUID, clientID: String, scopes: Set<OAuthClient.Scope>, grantedAt: Date) {
        self.userID = userID
        self.clientID = clientID
        self.scopes = scopes
        self.grantedAt = grantedAt.roundedToMicroseconds
    }
}

/// What the code exchange decides once the code is found and locked.
public enum CodeDecision: Sendable {
    /// Spend the code without issuing anything.
    case refuse(OAuthError)
    /// Spend the code and store the application's session, its first refresh token and `events`.
    case issue(Session, firstToken: RefreshTokenRecord?, events: [AuthEvent])
}

/// What the code exchange did, inside the transaction that spent the code.
public enum CodeRedemption: Sendable, Equatable {
    case redeemed(AuthorizationCode)
    /// The code was spent before: the session its first exchange started is now revoked.
    case replayed(AuthorizationCode, revokedSession: UUID?)
    /// No such code, or `decide` refused it (and it is now spent all the same).
    case refused(OAuthError)
}

/// Codes, grants and the sessions of applications, in the database every replica shares.
public protocol OAuthGrantRepository: Sendable {
    func insertAuthorizationCode(_ code: AuthorizationCode) async throws
    /// Finds the code with `digest` and locks it. A code of another client than `clientID` changes
    /// nothing; one spent before revokes the session its first exchange started; one whose grant the
    /// person has withdrawn since is spent and refused; otherwise it is spent and `decide`'s choice
    /// applied. One transaction.
    func redeemAuthorizationCode(
        digest: String, clientID: String, at date: Date,
        decide: @escaping @Sendable (AuthorizationCode) -> CodeDecision
    ) async throws -> CodeRedemption
    func insertPushedRequest(_ request: PushedRequest) async throws
    func pushedRequest(digest: String) async throws -> PushedRequest?
    /// Deletes the pushed request; false when it was deleted already (by this or another replica).
    func deletePushedRequest(digest: String) async throws -> Bool
    /// The refresh token with `digest`, rotated or not.
    func refreshToken(digest: String) async throws -> RefreshTokenRecord?
    func oauthGrant(userID: UUID, clientID: String) async throws -> OAuthGrant?
    func oauthGrants(userID: UUID) async throws -> [OAuthGrant]
    /// Stores or widens the grant and records `event` with its ledger entry, in one transaction.
    func saveOAuthGrant(_ grant: OAuthGrant, recording event: AuthEvent) async throws
    /// Deletes the grant, spends the client's unspent codes for the person, revokes every session the
    /// client holds for them, and records `event`, in one transaction. Returns the sessions revoked,
    /// or nil when there was no grant.
    func deleteOAuthGrant(
        userID: UUID, clientID: String, at date: Date, recording event: AuthEvent
    ) async throws
        -> [UUID]?
}
