public import Foundation

/// A single-use secret mailed to a person to prove they read that mailbox: a password-reset link,
/// say. Only its SHA-256 digest is stored (``OpaqueSecret/digest(_:)``).
public struct AccountToken: Sendable, Equatable {
    public enum Purpose: String, Sendable, CaseIterable {
        case passwordReset = "password-reset"
        case emailVerification = "email-verification"
    }

    public let digest: String
    public let purpose: Purpose
    public let userID: UUID
    public let issuedAt: Date
    public let expiresAt: Date

    public init(digest: String, purpose: Purpose, userID: UUID, issuedAt: Date, expiresAt: Date) {
        self.digest = digest
        self.purpose = purpose
        self.userID = userID
        self.issuedAt = issuedAt
        self.expiresAt = expiresAt
    }
}
