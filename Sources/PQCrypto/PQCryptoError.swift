/// Failures of the cryptographic layer. Descriptions name what failed, never key material.
public struct PQCryptoError: Error, Equatable, CustomStringConvertible, Sendable {
    private enum Kind: Equatable, Sendable {
        case invalidMasterKey, sealingFailed, cannotOpen, invalidKeyMaterial
    }
    private let kind: Kind

    public static let invalidMasterKey = Self(kind: .invalidMasterKey)
    public static let sealingFailed = Self(kind: .sealingFailed)
    /// The wrong master key, or a value that was altered or moved.
    public static let cannotOpen = Self(kind: .cannotOpen)
    public static let invalidKeyMaterial = Self(kind: .invalidKeyMaterial)

    public var description: String {
        switch kind {
        case .invalidMasterKey: "the master key must be the base64 text of exactly 32 random bytes"
        case .sealingFailed: "sealing a secret failed"
        case .cannotOpen: "a sealed secret did not open: wrong master key, or the value was altered"
        case .invalidKeyMaterial: "stored key material is not a valid key"
        }
    }
}
