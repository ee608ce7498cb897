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
    public var sid: String
    public var roles: [String]
    public var amr: [String]

    public func verify(using algorithm: some JWTAlgorithm) async throws {
        try exp.verifyNotExpired()
        try nbf.verifyNotBefore()
    }

    public var userID: UUID? { UUID(uuidString: sub.value) }
    public var sessionID: UUID? { UUID(uuidString: sid) }
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
