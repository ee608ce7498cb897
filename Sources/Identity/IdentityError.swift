/// What can go wrong in identity. Descriptions are safe to show to the caller: they never say
/// whether an account exists, and never contain a password, token or code.
public struct IdentityError: Error, Equatable, CustomStringConvertible, Sendable {
    public enum Kind: String, Equatable, Sendable {
        case invalidEmail, weakPassword, emailTaken, invalidField
        case invalidCredentials, invalidMFACode, mfaNotEnabled, mfaAlreadyEnabled, mfaSetupMissing
        case tooManyAttempts, rateLimited
        case invalidToken, invalidRefreshToken, refreshTokenReused, invalidLink, emailUnverified
        case sessionNotFound, forbidden, recentAuthenticationRequired
        case passkeyRejected, passkeyChallengeInvalid, passkeyExists, passkeyNotFound, lastSignInMethod
        case passkeySignInRequired, oauthClientNotFound
    }

    private enum Base: Equatable, Sendable {
        case invalidEmail(String)
        case weakPassword(String)
        case invalidField(name: String, reason: String)
        case emailTaken
        case invalidCredentials
        case invalidMFACode
        case mfaNotEnabled
        case mfaAlreadyEnabled
        case mfaSetupMissing
        case tooManyAttempts(retryAfter: Int)
        case rateLimited(retryAfter: Int)
        case invalidToken(String)
        case invalidRefreshToken
        case refreshTokenReused
        case invalidLink
        case emailUnverified
        case sessionNotFound
        case forbidden
        case recentAuthenticationRequired
        case passkeyRejected(String)
        case passkeyChallengeInvalid
        case passkeyExists
        case passkeyNotFound
        case lastSignInMethod
        case passkeySignInRequired
        case oauthClientNotFound
    }

    private let base: Base

    private init(_ base: Base) { self.base = base }

    public static func invalidEmail(_ why: String) -> Self { Self(.invalidEmail(why)) }
    public static func weakPassword(_ why: String) -> Self { Self(.weakPassword(why)) }
    public static func invalidField(_ field: String, _ why: String) -> Self {
        Self(.invalidField(name: field, reason: why))
    }
    public static let emailTaken = Self(.emailTaken)
    /// The one answer for an unknown email and for a wrong password.
    public static let invalidCredentials = Self(.invalidCredentials)
    public static let invalidMFACode = Self(.invalidMFACode)
    public static let mfaNotEnabled = Self(.mfaNotEnabled)
    public static let mfaAlreadyEnabled = Self(.mfaAlreadyEnabled)
    public static let mfaSetupMissing = Self(.mfaSetupMissing)
    public static func tooManyAttempts(retryAfter: Int) -> Self { Self(.tooManyAttempts(retryAfter: retryAfter)) }
    public static func rateLimited(retryAfter: Int) -> Self { Self(.rateLimited(retryAfter: retryAfter)) }
    public static func invalidToken(_ why: String) -> Self { Self(.invalidToken(why)) }
    public static let invalidRefreshToken = Self(.invalidRefreshToken)
    public static let refreshTokenReused = Self(.refreshTokenReused)
    /// A mailed link's token that is unknown, spent or expired.
    public static let invalidLink = Self(.invalidLink)
    /// What the account asked for waits until its owner confirms its email.
    public static let emailUnverified = Self(.emailUnverified)
    public static let sessionNotFound = Self(.sessionNotFound)
    public static let forbidden = Self(.forbidden)
    /// The change needs a sign-in within ``IdentityService/stepUpWindow``, or the current password.
    public static let recentAuthenticationRequired = Self(.recentAuthenticationRequired)

    /// A passkey ceremony that failed a check; `why` names the check (``WebAuthnError``), never the bytes.
    public static func passkeyRejected(_ why: String) -> Self { Self(.passkeyRejected(why)) }
    /// A passkey answer to a challenge that is unknown, answered already or expired.
    public static let passkeyChallengeInvalid = Self(.passkeyChallengeInvalid)
    public static let passkeyExists = Self(.passkeyExists)
    public static let passkeyNotFound = Self(.passkeyNotFound)
    public static let oauthClientNotFound = Self(.oauthClientNotFound)
    /// The change would leave the account no way to sign in.
    public static let lastSignInMethod = Self(.lastSignInMethod)
    /// Only a session begun with a passkey shows that a passkey can sign in alone.
    public static let passkeySignInRequired = Self(.passkeySignInRequired)

    public var kind: Kind {
        switch base {
        case .invalidEmail: .invalidEmail
        case .weakPassword: .weakPassword
        case .invalidField: .invalidField
        case .emailTaken: .emailTaken
        case .invalidCredentials: .invalidCredentials
        case .invalidMFACode: .invalidMFACode
        case .mfaNotEnabled: .mfaNotEnabled
        case .mfaAlreadyEnabled: .mfaAlreadyEnabled
        case .mfaSetupMissing: .mfaSetupMissing
        case .tooManyAttempts: .tooManyAttempts
        case .rateLimited: .rateLimited
        case .invalidToken: .invalidToken
        case .invalidRefreshToken: .invalidRefreshToken
        case .refreshTokenReused: .refreshTokenReused
        case .invalidLink: .invalidLink
        case .emailUnverified: .emailUnverified
        case .sessionNotFound: .sessionNotFound
        case .forbidden: .forbidden
        case .recentAuthenticationRequired: .recentAuthenticationRequired
        case .passkeyRejected: .passkeyRejected
        case .passkeyChallengeInvalid: .passkeyChallengeInvalid
        case .passkeyExists: .passkeyExists
        case .passkeyNotFound: .passkeyNotFound
        case .lastSignInMethod: .lastSignInMethod
        case .passkeySignInRequired: .passkeySignInRequired
        case .oauthClientNotFound: .oauthClientNotFound
        }
    }

    public var detail: String {
        switch base {
        case .invalidEmail(let why), .weakPassword(let why), .invalidToken(let why): why
        case .invalidField(let name, let reason): "\(name): \(reason)"
        case .emailTaken: "An account with this email already exists."
        case .invalidCredentials: "The email or password is incorrect."
        case .invalidMFACode: "The code is not valid, or has already been used."
        case .mfaNotEnabled: "Multi-factor authentication is not enabled."
        case .mfaAlreadyEnabled: "Multi-factor authentication is already enabled."
        case .mfaSetupMissing: "Start multi-factor set-up before confirming it."
        case .tooManyAttempts: "Too many failed attempts. Try again later."
        case .rateLimited: "Too many requests from this address. Try again later."
        case .invalidRefreshToken: "The refresh token is not valid."
        case .refreshTokenReused: "This refresh token was already used; the session has been revoked."
        case .invalidLink: "This link is unknown, used already, or expired; ask for a new one."
        case .emailUnverified: "Confirm your email first: follow the link we mailed you, or ask for a new one."
        case .sessionNotFound: "No such session."
        case .forbidden: "You may not act on this resource."
        case .recentAuthenticationRequired:
            "This change needs a sign-in within the last \(Int(IdentityService.stepUpWindow / 60)) minutes; give your current password."
        case .passkeyRejected(let why): why.prefix(1).uppercased() + why.dropFirst() + "."
        case .passkeyChallengeInvalid:
            "This passkey prompt is unknown, answered already, or expired; start again."
        case .passkeyExists: "This passkey is registered already."
        case .passkeyNotFound: "No such passkey."
        case .oauthClientNotFound: "No such client."
        case .lastSignInMethod:
            "This is the account's last way to sign in: add a passkey or set a password (\"Forgot your password?\") first."
        case .passkeySignInRequired:
            "Sign in with your passkey first, so that we know it can sign you in without the password."
        }
    }

    /// Seconds until trying again makes sense, for `Retry-After`.
    public var retryAfter: Int? {
        switch base {
        case .tooManyAttempts(let seconds), .rateLimited(let seconds): seconds
        case .invalidEmail, .weakPassword, .invalidField, .emailTaken, .invalidCredentials, .invalidMFACode,
            .mfaNotEnabled, .mfaAlreadyEnabled, .mfaSetupMissing, .invalidToken, .invalidRefreshToken,
            .refreshTokenReused, .invalidLink, .emailUnverified, .sessionNotFound, .forbidden,
            .recentAuthenticationRequired, .passkeyRejected, .passkeyChallengeInvalid, .passkeyExists, .passkeyNotFound,
            .lastSignInMethod, .passkeySignInRequired, .oauthClientNotFound:
            nil
        }
    }

    public var description: String { detail }
}
