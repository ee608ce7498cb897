/// What can go wrong in identity. Descriptions are safe to show to the caller: they never say
/// whether an account exists, and never contain a password, token or code.
public struct IdentityError: Error, Equatable, CustomStringConvertible, Sendable {
    public enum Kind: String, Equatable, Sendable {
        case invalidEmail, weakPassword, emailTaken, invalidField
        case invalidCredentials, invalidMFACode, mfaNotEnabled, mfaAlreadyEnabled, mfaSetupMissing
        case tooManyAttempts, rateLimited
        case invalidToken, invalidRefreshToken, refreshTokenReused
        case sessionNotFound, forbidden
    }
    public let kind: Kind
    public let detail: String
    /// Seconds until trying again makes sense, for `Retry-After`.
    public let retryAfter: Int?

    private init(_ kind: Kind, _ detail: String, retryAfter: Int? = nil) {
        self.kind = kind
        self.detail = detail
        self.retryAfter = retryAfter
    }

    public var description: String { detail }

    public static func invalidEmail(_ why: String) -> Self { Self(.invalidEmail, why) }
    public static func weakPassword(_ why: String) -> Self { Self(.weakPassword, why) }
    public static func invalidField(_ field: String, _ why: String) -> Self { Self(.invalidField, "\(field): \(why)") }
    public static let emailTaken = Self(.emailTaken, "An account with this email already exists.")
    /// The one answer for an unknown email and for a wrong password.
    public static let invalidCredentials = Self(.invalidCredentials, "The email or password is incorrect.")
    public static let invalidMFACode = Self(.invalidMFACode, "The code is not valid, or has already been used.")
    public static let mfaNotEnabled = Self(.mfaNotEnabled, "Multi-factor authentication is not enabled.")
    public static let mfaAlreadyEnabled = Self(.mfaAlreadyEnabled, "Multi-factor authentication is already enabled.")
    public static let mfaSetupMissing = Self(.mfaSetupMissing, "Start multi-factor set-up before confirming it.")
    public static func tooManyAttempts(retryAfter: Int) -> Self {
        Self(.tooManyAttempts, "Too many failed attempts. Try again later.", retryAfter: retryAfter)
    }
    public static func rateLimited(retryAfter: Int) -> Self {
        Self(.rateLimited, "Too many requests from this address. Try again later.", retryAfter: retryAfter)
    }
    public static func invalidToken(_ why: String) -> Self { Self(.invalidToken, why) }
    public static let invalidRefreshToken = Self(.invalidRefreshToken, "The refresh token is not valid.")
    public static let refreshTokenReused = Self(
        .refreshTokenReused, "This refresh token was already used; the session has been revoked.")
    public static let sessionNotFound = Self(.sessionNotFound, "No such session.")
    public static let forbidden = Self(.forbidden, "You may not act on this resource.")
}
