import Crypto
public import Foundation
import PQCrypto

/// The public keys a `private_key_jwt` client registers: each names itself, is of a type QSPP checks
/// signatures with (ML-DSA-65 `AKP`, Ed25519 `OKP`, P-256 `EC`), decodes to a valid public key, and
/// carries no private member.
extension OAuthClient {
    public static let maximumKeys = 5
    static let privateMembers: Set<String> = ["d", "p", "q", "dp", "dq", "qi", "oth", "k", "priv", "seed"]

    /// What is wrong with `keys`, or nil.
    public static func problem(withKeys keys: [[String: String]]) -> String? {
        guard (1...maximumKeys).contains(keys.count) else {
            return "a private_key_jwt client registers 1 to \(maximumKeys) public keys"
        }
        var names: Set<String> = []
        for key in keys {
            guard let kid = key["kid"], !kid.isEmpty, kid.utf8.count <= 128, names.insert(kid).inserted else {
                return "each key needs its own kid"
            }
            guard Set(key.keys).isDisjoint(with: privateMembers) else { return "key \(kid) holds private members" }
            guard isPublicKey(key) else {
                return "key \(kid) is not an ML-DSA-65 (AKP), Ed25519 (OKP) or P-256 (EC) public key"
            }
        }
        return nil
    }

    static func isPublicKey(_ key: [String: String]) -> Bool {
        switch key["kty"] {
        case "AKP":
            guard key["alg"] == "ML-DSA-65", let raw = key["pub"].flatMap(Base64URL.decode) else { return false }
            return (try? MLDSA65.PublicKey(rawRepresentation: raw)) != nil
        case "OKP":
            guard key["crv"] == "Ed25519", let raw = key["x"].flatMap(Base64URL.decode) else { return false }
            return (try? Curve25519.Signing.PublicKey(rawRepresentation: raw)) != nil
        case "EC":
            guard key["crv"] == "P-256", let x = key["x"].flatMap(Base64URL.decode),
                let y = key["y"].flatMap(Base64URL.decode), x.count == 32, y.count == 32
            else { return false }
            return (try? P256.Signing.PublicKey(x963Representation: Data([0x04]) + x + y)) != nil
        default: return false
        }
    }
}
