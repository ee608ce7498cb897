import Crypto
public import Foundation

/// The signing algorithms QSPP offers. ML-DSA-65 (FIPS 204, RFC 9964) is the default; Ed25519 and
/// ECDSA P-256 are there for verifiers that cannot do ML-DSA yet. ES256 signs only ID tokens: C2SP
/// signed notes, and so the ledger's checkpoints, have no ECDSA form.
public enum SigningAlgorithm: String, CaseIterable, Sendable {
    case mldsa65 = "ML-DSA-65"
    case ed25519 = "EdDSA"
    case es256 = "ES256"

    /// The algorithms the token key ring (access tokens, receipts, checkpoints) may use.
    public static let forTokens: [SigningAlgorithm] = [.mldsa65, .ed25519]

    /// The public JWK of `publicKey`: `AKP` for ML-DSA (RFC 9964), `OKP` for Ed25519 (RFC 8037), `EC`
    /// for P-256 (RFC 7518), whose key is kept in its uncompressed X9.63 form.
    public func publicJWK(_ publicKey: Data) -> [String: String] {
        switch self {
        case .mldsa65:
            ["kty": "AKP", "alg": rawValue, "pub": Base64URL.encode(publicKey)]
        case .ed25519:
            ["kty": "OKP", "crv": "Ed25519", "alg": rawValue, "x": Base64URL.encode(publicKey)]
        case .es256:
            [
                "kty": "EC", "crv": "P-256", "alg": rawValue, "x": Base64URL.encode(publicKey.dropFirst().prefix(32)),
                "y": Base64URL.encode(publicKey.dropFirst(33)),
            ]
        }
    }
}

/// One signing key: its algorithm, its private seed and its public key. The key id is the key's
/// RFC 7638 JWK thumbprint, so it names the key, not a database row.
public struct SigningKey: Sendable {
    public let algorithm: SigningAlgorithm
    /// The 32-byte seed (ML-DSA) or private scalar (Ed25519, P-256). Never logged.
    public let privateSeed: Data
    public let publicKey: Data

    public init(algorithm: SigningAlgorithm, privateSeed: some DataProtocol) throws(PQCryptoError) {
        self.algorithm = algorithm
        self.privateSeed = Data(privateSeed)
        do {
            switch algorithm {
            case .mldsa65:
                publicKey = try MLDSA65.PrivateKey(seedRepresentation: privateSeed, publicKey: nil).publicKey
                    .rawRepresentation
            case .ed25519:
                publicKey = try Curve25519.Signing.PrivateKey(rawRepresentation: Data(privateSeed)).publicKey
                    .rawRepresentation
            case .es256:
                publicKey = try P256.Signing.PrivateKey(rawRepresentation: Data(privateSeed)).publicKey
                    .x963Representation
            }
        } catch {
            throw .invalidKeyMaterial
        }
    }

    public static func generate(_ algorithm: SigningAlgorithm) -> SigningKey {
        // A fresh 32-byte seed is a valid ML-DSA or Ed25519 key; a P-256 scalar must also be below the
        // group order, so swift-crypto draws it.
        let seed =
            algorithm == .es256
            ? P256.Signing.PrivateKey().rawRepresentation : SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) }
        return try! SigningKey(algorithm: algorithm, privateSeed: seed)
    }

    public var publicJWK: [String: String] { algorithm.publicJWK(publicKey) }

    /// RFC 7638: SHA-256 over the required members, in lexicographic order, without whitespace.
    public var keyID: String { OfflineJWSVerifier.thumbprint(of: publicJWK) ?? "" }
}
