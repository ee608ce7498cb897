import Foundation
import JWTKit

/// The access token's claims (RFC 9068 profile): who, for whom, until when, in which session, with
/// which roles, and how they authenticated.
public struct AccessTokenClaims: JWTPayload, Equatable {
    public var iss: IssuerClaim
    public var aud: AudienceClaim
    public var sub: SubjectClaim
    public var exp: ExpirationClaim
    public var iat: IssuedAtClaim
    public var nbf: NotBeforeClaim
    public var jti: IDClaim
    /// Absent only from a machine client's token (client credentials), which has no session.
    public var sid: String?
    public var roles: [String]
    public var amr: [String]
    /// Present on the tokens of OAuth clients (RFC 9068 §2.2): whose token it is, and what it may do.
    public var clientID: String?
    public var scope: String?
    /// Who acts for the subject, on a token from a token exchange (RFC 8693 §4.1).
    public var act: Actor?
    /// The DPoP key the token is bound to (RFC 9449 §6.1).
    public var cnf: Confirmation?

    public struct Confirmation: Codable, Equatable, Sendable {
        public var jkt: String
        public init(jkt: String) { self.jkt = jkt }
    }

    public struct Actor: Codable, Equatable, Sendable {
        public var sub: String
        public init(sub: String) { self.sub = sub }
    }

    enum CodingKeys: String, CodingKey {
        case iss, aud, sub, exp, iat, nbf, jti, sid, roles, amr, scope, act, cnf
        case clientID = "client_id"
    }

    public func verify(using algorithm: some JWTAlgorithm) async throws {
        try exp.verifyNotExpired()
        try nbf.verifyNotBefore()
    }

    public var userID: UUID? { UUID(uuidString: sub.value) }
    public var sessionID: UUID? { sid.flatMap(UUID.init(uuidString:)) }
}

/// The short-lived proof that the password step succeeded, exchanged for tokens with a second factor.
struct MFAChallengeClaims: JWTPayload {
    var iss: IssuerClaim
    var aud: AudienceClaim
    var sub: SubjectClaim
    var exp: ExpirationClaim
    var iat: IssuedAtClaim
    var jti: IDClaim
    var rememberMe: Bool

    func verify(using algorithm: some JWTAlgorithm) async throws {
        try exp.verifyNotExpired()
    }
}

/// An OpenID Connect ID token (Core §2): who signed in, to which client, when and how.
struct IDTokenClaims: JWTPayload {
    var iss: IssuerClaim
    var sub: SubjectClaim
    var aud: AudienceClaim
    var azp: String
    var exp: ExpirationClaim
    var iat: IssuedAtClaim
    var authTime: Int
    var nonce: String?
    var amr: [String]
    var sid: String?
    var email: String?
    var emailVerified: Bool?
    var name: String?

    enum CodingKeys: String, CodingKey {
        case iss, sub, aud, azp, exp, iat, nonce, amr, sid, email, name
        case authTime = "auth_time"
        case emailVerified = "email_verified"
    }

    func verify(using algorithm: some JWTAlgorithm) async throws {
        try exp.verifyNotExpired()
    }
}

/// A logout token (OpenID Connect Back-Channel Logout 1.0 §2.4): the session `sid` of `sub` ended.
/// It never carries a nonce, so no relying party can mistake it for an ID token.
struct LogoutTokenClaims: JWTPayload {
    static let event = "http://schemas.openid.net/event/backchannel-logout"

    var iss: IssuerClaim
    var sub: SubjectClaim
    var aud: AudienceClaim
    var iat: IssuedAtClaim
    var exp: ExpirationClaim
    var jti: IDClaim
    var sid: String
    var events: [String: [String: String]]

    func verify(using algorithm: some JWTAlgorithm) async throws {
        try exp.verifyNotExpired()
    }
}

/// An initial access token (RFC 7591 §3): an administrator's leave for one client to register itself,
/// with at most `scope`.
struct RegistrationTokenClaims: JWTPayload {
    var iss: IssuerClaim
    var aud: AudienceClaim
    var sub: SubjectClaim
    var iat: IssuedAtClaim
    var exp: ExpirationClaim
    var jti: IDClaim
    var scope: String

    func verify(using algorithm: some JWTAlgorithm) async throws {
        try exp.verifyNotExpired()
    }
}
