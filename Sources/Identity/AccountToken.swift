public import Foundation

/// A single-use secret mailed to a person to prove they read that mailbox: a password-reset link,
/// say. Only its SHA-256 digest is stored (``OpaqueSecret/digest(_:)``).
public struct AccountToken: Sendable, Equatable {
    public enum Purpose: String, Sendable, CaseIterable {
        case passwordReset = "password-reset"
        case emailVerification = "email-verification"
        /// Mailed to a new address: following it moves the account there.
        case emailChange = "email-change"
        /// Mailed to the address an account left: following it moves the account back.
        case emailChangeUndo = "email-change-undo"
    }

    public let digest: String
    public let purpose: Purpose
    public let userID: UUID
    public let issuedAt: Date
    public let expiresAt: Date
    /// What the token carries: the address an email change moves to, or back to. Personal data, sealed
    /// at rest under the account's data key.
    public let payload: String?

    public init(
        digest: String, purpose: Purpose, userID: UUID, issuedAt: Date, expiresAt: Date, payload: String? = nil
    ) {
        self.digest = digest
        self.purpose = purpose
        self.userID = userID
        self.issuedAt = issuedAt
        self.expiresAt = expiresAt
        self.payload = payload
    }
}
