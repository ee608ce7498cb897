import Crypto
public import Foundation

/// Checks a compact JWS against a public JWK Set and nothing else: no database, no server, no key
/// ring. This is the offline procedure for consent receipts and ledger checkpoints, done with
/// swift-crypto directly, so it does not share code with the path that signed them.
public struct OfflineJWSVerifier: Sendable {
    public struct Verified: Sendable {
        public let keyID: String
        public let type: String?
        /// The payload's bytes, exactly as signed.
        public let payload: Data
    }

    public enum Failure: Error, Equatable, CustomStringConvertible {
        case malformed, unknownKey, unsupportedAlgorithm, badSignature, wrongType(String?)

        public var description: String {
            switch self {
            case .malformed: "the JWS is not a well-formed compact JWS"
            case .unknownKey: "no key of the JWKS has the JWS's kid"
            case .unsupportedAlgorithm: "the JWS's algorithm does not match its key"
            case .badSignature: "the signature is not valid"
            case .wrongType(let type): "the JWS has type \(type ?? "none"), not the one expected"
            }
        }
    }

    private let keys: [String: [String: String]]

    /// `jwks` is the JSON of a JWK Set, as `/.well-known/jwks.json` serves it.
    public init(jwks: Data) throws(Failure) {
        guard let object = try? JSONSerialization.jsonObject(with: jwks) as? [String: Any],
            let list = object["keys"] as? [[String: Any]]
        else { throw .malformed }
        var keys: [String: [String: String]] = [:]
        for key in list {
            let strings = key.compactMapValues { $0 as? String }
            if let kid = strings["kid"] { keys[kid] = strings }
        }
        self.keys = keys
    }

    public func verify(_ compact: String, type expectedType: String) throws(Failure) -> Verified {
        try verify(compact, types: [expectedType], keyIDRequired: true)
    }

    /// Checks a JWS made by someone else's library, such as an OAuth client's assertion (RFC 7523):
    /// its `typ` may be any of `types` (nil for none), and it may leave out its `kid` when the set
    /// holds a single key.
    public func verify(_ compact: String, typeIn types: Set<String?>) throws(Failure) -> Verified {
        try verify(compact, types: types, keyIDRequired: keys.count != 1)
    }

    private func verify(_ compact: String, types: Set<String?>, keyIDRequired: Bool) throws(Failure) -> Verified {
        let parts = compact.trimmingCharacters(in: .whitespacesAndNewlines)
            .split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let headerBytes = Base64URL.decode(parts[0]), let payload = Base64URL.decode(parts[1]),
            let signature = Base64URL.decode(parts[2]),
            let header = try? JSONSerialization.jsonObject(with: headerBytes) as? [String: Any],
            header["crit"] == nil, let alg = header["alg"] as? String
        else { throw .malformed }
        let kid = header["kid"] as? String ?? (keyIDRequired ? nil : keys.keys.first)
        guard let kid else { throw .malformed }
        let type = header["typ"] as? String
        guard types.contains(type) else { throw .wrongType(type) }
        guard let jwk = keys[kid] else { throw .unknownKey }
        let signingInput = Data("\(parts[0]).\(parts[1])".utf8)
        let valid = try Self.isValidSignature(signature, of: signingInput, algorithm: alg, jwk: jwk)
        guard valid else { throw .badSignature }
        return Verified(keyID: kid, type: type, payload: payload)
    }

    /// Whether `signature` over `input` verifies with the public `jwk` under `algorithm`: ML-DSA-65 with an
    /// `AKP` key, EdDSA with an Ed25519 `OKP` key, ES256 with a P-256 `EC` key. A key of another type,
    /// or one that does not match the algorithm, throws.
    public static func isValidSignature(
        _ signature: Data, of input: Data, algorithm: String, jwk: [String: String]
    ) throws(Failure) -> Bool {
        switch (algorithm, jwk["kty"], jwk["alg"]) {
        case ("ML-DSA-65", "AKP", "ML-DSA-65"):
            guard let raw = jwk["pub"].flatMap(Base64URL.decode),
                let key = try? MLDSA65.PublicKey(rawRepresentation: raw)
            else { throw .malformed }
            return key.isValidSignature(signature, for: input)
        case ("EdDSA", "OKP", _) where jwk["crv"] == "Ed25519":
            guard let raw = jwk["x"].flatMap(Base64URL.decode),
                let key = try? Curve25519.Signing.PublicKey(rawRepresentation: raw)
            else { throw .malformed }
            return key.isValidSignature(signature, for: input)
        case ("ES256", "EC", _) where jwk["crv"] == "P-256":
            guard let x = jwk["x"].flatMap(Base64URL.decode), let y = jwk["y"].flatMap(Base64URL.decode),
                x.count == 32, y.count == 32,
                let key = try? P256.Signing.PublicKey(x963Representation: Data([0x04]) + x + y)
            else { throw .malformed }
            guard let ecdsa = try? P256.Signing.ECDSASignature(rawRepresentation: signature) else { return false }
            return key.isValidSignature(ecdsa, for: input)
        default:
            throw .unsupportedAlgorithm
        }
    }

    /// The RFC 7638 thumbprint of a public JWK (base64url SHA-256 of its required members), or nil for a
    /// key type QSPP does not know. ML-DSA's `AKP` keys name `alg` among their members.
    public static func thumbprint(of jwk: [String: String]) -> String? {
        let required: [String]
        switch jwk["kty"] {
        case "EC": required = ["crv", "kty", "x", "y"]
        case "OKP": required = ["crv", "kty", "x"]
        case "AKP": required = ["alg", "kty", "pub"]
        default: return nil
        }
        var members: [String] = []
        for name in required {
            guard let value = jwk[name], value.utf8.allSatisfy({ $0 >= 0x20 && $0 != 0x22 && $0 != 0x5C && $0 < 0x7F })
            else { return nil }
            members.append("\"\(name)\":\"\(value)\"")
        }
        return Base64URL.encode(Data(SHA256.hash(data: Data(("{" + members.joined(separator: ",") + "}").utf8))))
    }
}
