import Foundation
import Kernel
import Outbox
import PQCrypto

public enum Role: String, Sendable, CaseIterable, Codable {
    case user
    /// Manages purposes, users and sessions; reads and writes any subject's records.
    case admin
    /// The data-protection officer: reads any subject's records, acts on data-subject requests.
    case dpo
}

public struct Account: Sendable, Equatable {
    public let id: UUID
    public var email: EmailAddress
    /// How the person wants to be addressed; optional, sealed at rest like the email.
    public var displayName: String?
    /// Empty for an account that signs in with passkeys only.
    public var passwordHash: String
    public var roles: Set<Role>
    public let createdAt: Date
    /// The TOTP secret sealed under the master key; present from set-up on.
    public var sealedTOTPSecret: Data?
    public var mfaEnabled: Bool
    /// Unused recovery codes, as last read.
    public var recoveryCodesRemaining: Int
    /// The language the person's mail is written in, as a primary language subtag (`de`); nil is English.
    public var locale: String?
    /// When the person proved they read the email's mailbox; nil until then.
    public var emailVerifiedAt: Date?
    /// The notices the person turned off (only those in ``IdentityService/optionalNotices``).
    public var mutedNotices: Set<MailTemplateName>

    public init(
        id: UUID, email: EmailAddress, passwordHash: String, roles: Set<Role>, createdAt: Date,
        sealedTOTPSecret: Data? = nil, mfaEnabled: Bool = false, recoveryCodesRemaining: Int = 0,
        displayName: String? = nil, locale: String? = nil, emailVerifiedAt: Date? = nil,
        mutedNotices: Set<MailTemplateName> = []
    ) {
        self.emailVerifiedAt = emailVerifiedAt
        self.mutedNotices = mutedNotices
        self.locale = locale
        self.recoveryCodesRemaining = recoveryCodesRemaining
        self.displayName = displayName
        self.id = id
        self.email = email
        self.passwordHash = passwordHash
        self.roles = roles
        self.createdAt = createdAt
        self.sealedTOTPSecret = sealedTOTPSecret
        self.mfaEnabled = mfaEnabled
    }

    /// The primary language subtag of a tag such as `de-CH` or an `Accept-Language` header's first
    /// choice, or nil when it names no language.
    public static func language(of tag: String?) -> String? {
        guard let tag else { return nil }
        let first = tag.split(separator: ",").first.map { $0.split(separator: ";")[0] } ?? ""
        let primary = first.split(separator: "-").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        guard let primary, (2...3).contains(primary.count), primary.allSatisfy({ $0 >= "a" && $0 <= "z" }) else {
            return nil
        }
        return primary
    }

    /// The subject id the account's consent records are kept under.
    public var subjectID: String { id.lowercasedString }
}

/// Who is calling, and from where, as recorded on sessions and audit events.
public struct ClientInfo: Sendable, Equatable {
    public var ipAddress: String?
    public var userAgent: String?

    public init(ipAddress: String? = nil, userAgent: String? = nil) {
        self.ipAddress = ipAddress
        self.userAgent = userAgent.map { String($0.prefix(512)) }
    }
}

public struct Session: Sendable, Equatable {
    public let id: UUID
    public let userID: UUID
    public let createdAt: Date
    public var lastUsedAt: Date
    public let client: ClientInfo
    public var revokedAt: Date?
    public let rememberMe: Bool
    /// How the session was authenticated (RFC 8176 values: `pwd`, `otp`, `hwk`, `swk`, `user`).
    public let authenticationMethods: [String]
    /// The application the session was started for through OAuth, and the scopes it was granted; nil
    /// for a session of QSPP's own clients (the portal, the API).
    public let application: Application?

    public struct Application: Sendable, Equatable {
        public let clientID: String
        public let scopes: Set<OAuthClient.Scope>
        /// When the person signed in for it (the ID token's `auth_time`).
        public let authenticatedAt: Date
        /// The thumbprint of the DPoP key the session's refresh tokens are bound to, if any.
        public let boundKey: String?
        /// The portal session it was started from; ending that one ends this one (single sign-out).
        public let parentSessionID: UUID?

        public init(
            clientID: String, scopes: Set<OAuthClient.Scope>, authenticatedAt: Date, boundKey: String? = nil,
            parentSessionID: UUID? = nil
        ) {
            self.parentSessionID = parentSessionID
            self.clientID = clientID
            self.scopes = scopes
            self.authenticatedAt = authenticatedAt.roundedToMicroseconds
            self.boundKey = boundKey
        }
    }

    /// Whether it took two factors: a password and a code or passkey, or a passkey that verified the
    /// person.
    public var isMultiFactor: Bool {
        authenticationMethods.contains("otp") || authenticationMethods.contains("user")
            || (authenticationMethods.contains("pwd")
                && (authenticationMethods.contains("hwk") || authenticationMethods.contains("swk")))
    }

    public init(
        id: UUID, userID: UUID, createdAt: Date, lastUsedAt: Date, client: ClientInfo, revokedAt: Date? = nil,
        rememberMe: Bool, authenticationMethods: [String], application: Application? = nil
    ) {
        self.application = application
        self.id = id
        self.userID = userID
        self.createdAt = createdAt
        self.lastUsedAt = lastUsedAt
        self.client = client
        self.revokedAt = revokedAt
        self.rememberMe = rememberMe
        self.authenticationMethods = authenticationMethods
    }
}

/// One refresh token, known to the server only by its digest. All tokens of a session form one family.
public struct RefreshTokenRecord: Sendable, Equatable {
    public let digest: String
    public let sessionID: UUID
    public let userID: UUID
    public let issuedAt: Date
    public let expiresAt: Date
    /// Set once the token has been exchanged for its successor.
    public var rotatedAt: Date?
    /// Exchanges after the first, inside the grace window.
    public var graceReuses: Int

    public init(
        digest: String, sessionID: UUID, userID: UUID, issuedAt: Date, expiresAt: Date, rotatedAt: Date? = nil,
        graceReuses: Int = 0
    ) {
        self.digest = digest
        self.sessionID = sessionID
        self.userID = userID
        self.issuedAt = issuedAt
        self.expiresAt = expiresAt
        self.rotatedAt = rotatedAt
        self.graceReuses = graceReuses
    }
}

/// A signing key as stored: the private seed sealed under the master key.
public struct StoredSigningKey: Sendable, Equatable {
    public let keyID: String
    public let algorithm: String
    public let publicKey: Data
    public let sealedPrivateKey: Data
    public let createdAt: Date
    /// When a newer key replaced it for signing. It still verifies until its last token expires.
    public var retiredAt: Date?

    public init(
        keyID: String, algorithm: String, publicKey: Data, sealedPrivateKey: Data, createdAt: Date,
        retiredAt: Date? = nil
    ) {
        self.keyID = keyID
        self.algorithm = algorithm
        self.publicKey = publicKey
        self.sealedPrivateKey = sealedPrivateKey
        self.createdAt = createdAt
        self.retiredAt = retiredAt
    }
}

extension Account {
    /// Whether the account has a password; one that signs in with passkeys only has none.
    public var hasPassword: Bool { !passwordHash.isEmpty }
}
