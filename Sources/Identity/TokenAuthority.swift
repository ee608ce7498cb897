import Foundation
import JWTKit
import Kernel
import PQCrypto
import Telemetry

/// Issues and checks the JWTs QSPP hands out. Verification is deliberately narrower than jwt-kit's:
/// the header must name the configured algorithm, the expected `typ` and a key of the ring, so
/// `alg: none`, algorithm swaps (HS256 keyed with the public key, say) and unknown keys fail before
/// any signature is looked at.
public struct TokenAuthority: Sendable {
    public let issuer: String
    public let audience: String
    public let accessTokenLifetime: TimeInterval
    public let keyRing: SigningKeyRing
    /// Rings for the other algorithms an OAuth client may ask its ID tokens in; their keys are made
    /// when the first such client signs someone in.
    public let idTokenRings: [SigningKeyRing]
    static let mfaChallengeLifetime: TimeInterval = 5 * 60
    static let accessTokenType = "at+jwt"
    static let mfaChallengeType = "mfa-challenge+jwt"
    static let logoutTokenType = "logout+jwt"
    static let registrationTokenType = "registration+jwt"
    /// Back-Channel Logout §2.4 recommends two minutes at most.
    static let logoutTokenLifetime: TimeInterval = 2 * 60
    /// Larger than any token QSPP issues (an ML-DSA-65 signature is 3,309 bytes).
    static let maximumTokenLength = 16 * 1024

    public init(issuer: String, audience: String, accessTokenLifetime: TimeInterval, keyRing: SigningKeyRing) {
        self.issuer = issuer
        self.audience = audience
        self.accessTokenLifetime = accessTokenLifetime
        self.keyRing = keyRing
        self.idTokenRings = SigningAlgorithm.allCases.filter { $0 != keyRing.algorithm }.map(keyRing.sibling)
    }

    /// The public URL of `path` on this issuer, however the issuer was written (a trailing slash or not).
    public func url(of path: String) -> String {
        (issuer.hasSuffix("/") ? String(issuer.dropLast()) : issuer) + path
    }

    /// Every public key QSPP signs with, in every algorithm: the one JWK Set that verifies tokens,
    /// ID tokens, receipts and checkpoints.
    public var jwks: [[String: String]] { ([keyRing] + idTokenRings).flatMap(\.jwks) }

    /// Reloads every ring: another replica may have added or rotated a key.
    public func reloadKeys() async throws {
        try await keyRing.load()
        for ring in idTokenRings { try await ring.load(creatingIfNone: false) }
    }

    public func issueAccessToken(
        account: Account, sessionID: UUID, methods: [String], now: Date
    ) async throws
        -> (token: String, expiresAt: Date)
    {
        let expiresAt = now.addingTimeInterval(accessTokenLifetime)
        let claims = AccessTokenClaims(
            iss: .init(value: issuer), aud: .init(value: [audience]), sub: .init(value: account.subjectID),
            exp: .init(value: expiresAt), iat: .init(value: now), nbf: .init(value: now),
            jti: .init(value: UUID().lowercasedString), sid: sessionID.lowercasedString,
            roles: account.roles.map(\.rawValue).sorted(), amr: methods)
        return (try await sign(claims, type: Self.accessTokenType), expiresAt)
    }

    /// An OAuth client's access token: for a person (with their session), or for the client itself
    /// (client credentials: `sub` is the client id and there is no session, RFC 9068 §2.2).
    func issueClientAccessToken(
        clientID: String, scopes: Set<OAuthClient.Scope>, account: Account?, session: Session?, actor: String? = nil,
        boundKey: String?, now: Date
    ) async throws -> (token: String, expiresAt: Date) {
        let expiresAt = now.addingTimeInterval(accessTokenLifetime)
        let claims = AccessTokenClaims(
            iss: .init(value: issuer), aud: .init(value: [audience]),
            sub: .init(value: account?.subjectID ?? clientID), exp: .init(value: expiresAt), iat: .init(value: now),
            nbf: .init(value: now), jti: .init(value: UUID().lowercasedString), sid: session?.id.lowercasedString,
            roles: account.map { AuthenticatedUser.roles($0.roles, within: scopes).map(\.rawValue).sorted() } ?? [],
            amr: session?.authenticationMethods ?? [],
            clientID: clientID, scope: OAuthClient.Scope.text(scopes), act: actor.map(AccessTokenClaims.Actor.init),
            cnf: boundKey.map(AccessTokenClaims.Confirmation.init))
        return (try await sign(claims, type: Self.accessTokenType), expiresAt)
    }

    /// An ID token for `clientID`, with the claims its granted scopes name (OIDC Core §5.4).
    func issueIDToken(
        account: Account, clientID: String, session: Session, nonce: String?, scopes: Set<OAuthClient.Scope>,
        algorithm: SigningAlgorithm, now: Date
    ) async throws -> String {
        let claims = IDTokenClaims(
            iss: .init(value: issuer), sub: .init(value: account.subjectID), aud: .init(value: [clientID]),
            azp: clientID, exp: .init(value: now.addingTimeInterval(accessTokenLifetime)), iat: .init(value: now),
            authTime: Int((session.application?.authenticatedAt ?? session.createdAt).timeIntervalSince1970),
            nonce: nonce, amr: session.authenticationMethods, sid: session.id.lowercasedString,
            email: scopes.contains(.email) ? account.email.normalized : nil,
            emailVerified: scopes.contains(.email) ? account.emailVerifiedAt != nil : nil,
            name: scopes.contains(.profile) ? account.displayName : nil)
        return try await sign(claims, type: "JWT", ring: try await idTokenRing(algorithm))
    }

    /// A logout token for `clientID`, in the algorithm of its ID tokens, so the key that checks those
    /// checks this. It lives only as long as a delivery attempt needs.
    func issueLogoutToken(
        clientID: String, subject: String, sessionID: UUID, algorithm: SigningAlgorithm, now: Date
    ) async throws -> String {
        let claims = LogoutTokenClaims(
            iss: .init(value: issuer), sub: .init(value: subject), aud: .init(value: [clientID]),
            iat: .init(value: now), exp: .init(value: now.addingTimeInterval(Self.logoutTokenLifetime)),
            jti: .init(value: UUID().lowercasedString), sid: sessionID.lowercasedString,
            events: [LogoutTokenClaims.event: [:]])
        return try await sign(claims, type: Self.logoutTokenType, ring: try await idTokenRing(algorithm))
    }

    /// An initial access token from `admin`, good for one registration of a client with at most `scopes`.
    func issueRegistrationToken(
        admin: UUID, scopes: Set<OAuthClient.Scope>, id: UUID, now: Date, expiresAt: Date
    ) async throws -> String {
        let claims = RegistrationTokenClaims(
            iss: .init(value: issuer), aud: .init(value: [url(of: "/oauth/register")]),
            sub: .init(value: admin.lowercasedString),
            iat: .init(value: now), exp: .init(value: expiresAt), jti: .init(value: id.lowercasedString),
            scope: OAuthClient.Scope.text(scopes))
        return try await sign(claims, type: Self.registrationTokenType)
    }

    /// The administrator, scopes, id and expiry of an initial access token QSPP issued and that has not expired.
    func verifyRegistrationToken(
        _ token: String
    ) async throws(IdentityError) -> (admin: UUID, scopes: Set<OAuthClient.Scope>, id: String, expiresAt: Date) {
        let claims: RegistrationTokenClaims = try await verify(token, type: Self.registrationTokenType)
        let words = claims.scope.split(separator: " ")
        let scopes = Set(words.compactMap { OAuthClient.Scope(rawValue: String($0)) })
        guard claims.iss.value == issuer, claims.aud.value.contains(url(of: "/oauth/register")),
            let admin = UUID(uuidString: claims.sub.value), scopes.count == Set(words).count
        else { throw .invalidToken("the token is not an initial access token") }
        return (admin, scopes, claims.jti.value, claims.exp.value)
    }

    func prepareIDTokenKey(for algorithm: SigningAlgorithm) async throws {
        _ = try await idTokenRing(algorithm)
    }

    private func idTokenRing(_ algorithm: SigningAlgorithm) async throws -> SigningKeyRing {
        guard let ring = ([keyRing] + idTokenRings).first(where: { $0.algorithm == algorithm }) else {
            throw IdentityError.invalidToken("no key ring signs ID tokens in \(algorithm.rawValue)")
        }
        if !ring.hasSigningKey { try await ring.load() }
        return ring
    }

    func issueMFAChallenge(userID: UUID, rememberMe: Bool, now: Date) async throws -> String {
        let claims = MFAChallengeClaims(
            iss: .init(value: issuer), aud: .init(value: [audience]), sub: .init(value: userID.lowercasedString),
            exp: .init(value: now.addingTimeInterval(Self.mfaChallengeLifetime)), iat: .init(value: now),
            jti: .init(value: UUID().lowercasedString), rememberMe: rememberMe)
        return try await sign(claims, type: Self.mfaChallengeType)
    }

    public func verifyAccessToken(_ token: String) async throws(IdentityError) -> AccessTokenClaims {
        let claims: AccessTokenClaims = try await verify(token, type: Self.accessTokenType)
        guard claims.iss.value == issuer else { throw .invalidToken("the token was issued by someone else") }
        guard claims.aud.value.contains(audience) else { throw .invalidToken("the token is meant for someone else") }
        // A session-less token is a machine client's, and names it as its subject.
        let wellFormed =
            claims.sid == nil
            ? claims.clientID != nil && claims.clientID == claims.sub.value
            : claims.userID != nil && claims.sessionID != nil
        guard wellFormed else { throw .invalidToken("the token is malformed") }
        return claims
    }

    func verifyMFAChallenge(_ token: String) async throws(IdentityError) -> MFAChallengeClaims {
        let claims: MFAChallengeClaims = try await verify(token, type: Self.mfaChallengeType)
        guard claims.iss.value == issuer, claims.aud.value.contains(audience) else {
            throw .invalidToken("the MFA challenge is not valid")
        }
        return claims
    }

    private func sign(_ claims: some JWTPayload, type: String, ring: SigningKeyRing? = nil) async throws -> String {
        let signer = try (ring ?? keyRing).signer()
        var header = JWTHeader()
        header.typ = type
        header.kid = signer.keyID
        return try await Traced.run("crypto.sign", ["crypto.algorithm": signer.algorithm.rawValue]) {
            try await signer.collection.sign(claims, header: header)
        }
    }

    private func verify<Claims: JWTPayload>(_ token: String, type: String) async throws(IdentityError) -> Claims {
        let entry: SigningKeyRing.Entry
        do {
            entry = try keyRing.entry(forCompact: token, type: type)
        } catch {
            // Another replica may have created or rotated a key since this one last loaded the ring.
            guard await keyRing.reloadForUnknownKey() else { throw error }
            entry = try keyRing.entry(forCompact: token, type: type)
        }
        guard keyRing.acceptsTokens(from: entry) else { throw .invalidToken("the token's key is not known") }
        return try await Traced.run("crypto.verify", ["crypto.algorithm": entry.algorithm.rawValue]) {
            () async throws(IdentityError) -> Claims in
            do {
                return try await entry.collection.verify(token, as: Claims.self)
            } catch let error as JWTError where error.errorType == .claimVerificationFailure {
                throw .invalidToken("the token has expired or is not yet valid")
            } catch {
                throw .invalidToken("the token's signature is not valid")
            }
        }
    }
}
