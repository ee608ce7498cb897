import Crypto
public import Foundation
import _CryptoExtras

/// The signature algorithms a passkey may use, by their COSE numbers: ES256, EdDSA (Ed25519), RS256,
/// and ML-DSA-65 (RFC 9964), so an authenticator with a post-quantum key is welcome from its first day.
public enum COSEAlgorithm: Int, Sendable, CaseIterable {
    case es256 = -7
    case edDSA = -8
    case rs256 = -257
    case mlDSA65 = -49
}

/// A credential public key as COSE encodes it (RFC 9052, 9053 and 9964), checked when it is read:
/// the key type, curve and sizes must agree with the algorithm, and the key must be one swift-crypto
/// accepts (a point on the curve, an RSA modulus of at least 2048 bits).
public struct COSEKey: Sendable {
    private enum Material: Sendable {
        case p256(P256.Signing.PublicKey)
        case ed25519(Curve25519.Signing.PublicKey)
        case rsa(_RSA.Signing.PublicKey)
        case mlDSA65(MLDSA65.PublicKey)
    }

    public let algorithm: COSEAlgorithm
    private let material: Material

    private enum Label {
        static let kty = 1
        static let alg = 3
        static let crvOrN = -1
        static let xOrE = -2
        static let y = -3
    }

    public init(_ key: CBORValue) throws(WebAuthnError) {
        guard case .map = key, let kty = key[Label.kty]?.int, let alg = key[Label.alg]?.int else {
            throw WebAuthnError(.invalidKey, "no key type or algorithm")
        }
        guard let algorithm = COSEAlgorithm(rawValue: alg) else { throw WebAuthnError(.unsupportedAlgorithm) }
        self.algorithm = algorithm
        do {
            switch (algorithm, kty) {
            case (.es256, 2):
                guard key[Label.crvOrN]?.int == 1, let x = key[Label.xOrE]?.bytes, let y = key[Label.y]?.bytes,
                    x.count == 32, y.count == 32
                else { throw WebAuthnError(.invalidKey, "not a P-256 point") }
                material = .p256(try P256.Signing.PublicKey(x963Representation: Data([0x04]) + x + y))
            case (.edDSA, 1):
                guard key[Label.crvOrN]?.int == 6, let x = key[Label.xOrE]?.bytes, x.count == 32 else {
                    throw WebAuthnError(.invalidKey, "not an Ed25519 key")
                }
                material = .ed25519(try Curve25519.Signing.PublicKey(rawRepresentation: x))
            case (.rs256, 3):
                guard let n = key[Label.crvOrN]?.bytes, let e = key[Label.xOrE]?.bytes, !e.isEmpty, e.count <= 8 else {
                    throw WebAuthnError(.invalidKey, "not an RSA key")
                }
                material = .rsa(try _RSA.Signing.PublicKey(n: n, e: e))
            case (.mlDSA65, 7):
                guard let pub = key[Label.crvOrN]?.bytes, pub.count == 1952 else {
                    throw WebAuthnError(.invalidKey, "not an ML-DSA-65 key")
                }
                material = .mlDSA65(try MLDSA65.PublicKey(rawRepresentation: pub))
            default:
                throw WebAuthnError(.invalidKey, "a key type that does not match the algorithm")
            }
        } catch let error as WebAuthnError {
            throw error
        } catch {
            throw WebAuthnError(.invalidKey, "refused by swift-crypto")
        }
    }

    /// Whether `signature` is this key's over `data`, in the form WebAuthn uses for the algorithm
    /// (DER for ES256, raw for EdDSA and ML-DSA-65, PKCS #1 v1.5 with SHA-256 for RS256).
    public func isValidSignature(_ signature: Data, for data: Data) -> Bool {
        switch material {
        case .p256(let key):
            guard let parsed = try? P256.Signing.ECDSASignature(derRepresentation: signature) else { return false }
            return key.isValidSignature(parsed, for: data)
        case .ed25519(let key):
            return key.isValidSignature(signature, for: data)
        case .rsa(let key):
            return key.isValidSignature(
                _RSA.Signing.RSASignature(rawRepresentation: signature), for: data, padding: .insecurePKCS1v1_5)
        case .mlDSA65(let key):
            return key.isValidSignature(signature, for: data)
        }
    }
}
