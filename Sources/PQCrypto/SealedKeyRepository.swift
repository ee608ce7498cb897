public import Foundation

/// The kinds of key a database keeps sealed under the master key.
public enum SealedKeyKind: String, Sendable, CaseIterable {
    /// The keys that wrap the subjects' data keys; the data keys themselves need no change.
    case wrappingKey
    /// Named secrets, such as the blind index key.
    case secret
    case signingKey
    case totpSecret
    /// Webhook endpoints' HMAC secrets.
    case webhookSecret
}

/// One key as stored: its kind, its id within the kind, and its sealed bytes.
public struct SealedKey: Sendable, Equatable {
    public let kind: SealedKeyKind
    public let id: String
    public let sealed: Data

    public init(kind: SealedKeyKind, id: String, sealed: Data) {
        self.kind = kind
        self.id = id
        self.sealed = sealed
    }
}

/// What a master-key rotation needs from a database.
public protocol SealedKeyRepository: Sendable {
    /// The keys of `kind` that may be sealed under a master key other than `fingerprint`. Wrapping keys
    /// and secrets record the key that sealed them; signing keys and TOTP secrets do not, so every one
    /// of those comes back.
    func sealedKeys(_ kind: SealedKeyKind, notUnder fingerprint: String) async throws -> [SealedKey]
    /// Stores `resealed` in place of `key`, unless the key changed meanwhile (a user re-enrolling MFA
    /// right now keeps the new secret, and a rotation running elsewhere has already done it). Returns
    /// whether it replaced the key.
    func replace(_ key: SealedKey, with resealed: Data, under fingerprint: String) async throws -> Bool
}
