import Crypto
public import Foundation

/// The token-signing algorithms QSPP offers. ML-DSA-65 (FIPS 204, RFC 9964) is the default; Ed25519
/// is there for verifiers that cannot do ML-DSA yet.
public enum SigningAlgorithm: String, CaseIterable, Sendable {
    case mldsa65 = "ML-DSA-65"
    case ed25519 = "EdDSA"
}

/// One signing key: its algorithm, its private seed and its public key. The key id is the key's
/// RFC 7638 JWK thumbprint, so it names the key, not a database row.
public struct SigningKey: Sendable {
    public let algorithm: SigningAlgorithm
    /// The 32-byte seed (ML-DSA) or private scalar (Ed25519). Never logged.
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
            }
        } catch {
            throw .invalidKeyMaterial
        }
    }

    public static func generate(_ algorithm: SigningAlgorithm) -> SigningKey {
        let seed = SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) }
        // A fresh 32-byte seed is a valid key for both algorithms.
        return try! SigningKey(algorithm: algorithm, privateSeed: seed)
    }

    /// The public JWK: `AKP` for ML-DSA (RFC 9964), `OKP` for Ed25519 (RFC 8037).
    public var publicJWK: [String: String] {
        switch algorithm {
        case .mldsa65:
            ["kty": "AKP", "alg": algorithm.rawValue, "pub": Base64URL.encode(publicKey)]
        case .ed25519:
            ["kty": "OKP", "crv": "Ed25519", "alg": algorithm.rawValue, "x": Base64URL.encode(publicKey)]
        }
    }

    /// RFC 7638: SHA-256 over the required members, in lexicographic order, without whitespace.
    public var keyID: String {
        let members = publicJWK.filter { $0.key != "alg" || algorithm == .mldsa65 }
        let canonical = "{" + members.keys.sorted().map { "\"\($0)\":\"\(members[$0]!)\"" }.joined(separator: ",") + "}"
        return Base64URL.encode(Data(SHA256.hash(data: Data(canonical.utf8))))
    }
}
