import Crypto
import Foundation
import PQCrypto

/// A client's key, making DPoP proofs as RFC 9449 §4.2 describes (a JWT of type `dpop+jwt` with the
/// public key in its header) and `private_key_jwt` assertions. (joserfc, authlib and dilithium-py make
/// them independently in the interop run.)
struct DPoPKey: @unchecked Sendable {
    let algorithm: String
    let jwk: [String: String]
    private let sign: (Data) throws -> Data

    static func es256() -> DPoPKey {
        let key = P256.Signing.PrivateKey()
        return DPoPKey(
            algorithm: "ES256", jwk: jwk(of: key.publicKey), sign: { try key.signature(for: $0).rawRepresentation })
    }

    static func jwk(of key: P256.Signing.PublicKey) -> [String: String] {
        let point = key.x963Representation
        return [
            "kty": "EC", "crv": "P-256", "x": Base64URL.encode(point.dropFirst().prefix(32)),
            "y": Base64URL.encode(point.dropFirst(33)),
        ]
    }

    static func eddsa() -> DPoPKey {
        let key = Curve25519.Signing.PrivateKey()
        return DPoPKey(
            algorithm: "EdDSA",
            jwk: ["kty": "OKP", "crv": "Ed25519", "x": Base64URL.encode(key.publicKey.rawRepresentation)],
            sign: { try key.signature(for: $0) })
    }

    static func mldsa() throws -> DPoPKey {
        let key = try MLDSA65.PrivateKey()
        return DPoPKey(
            algorithm: "ML-DSA-65",
            jwk: ["kty": "AKP", "alg": "ML-DSA-65", "pub": Base64URL.encode(key.publicKey.rawRepresentation)],
            sign: { try key.signature(for: $0) })
    }

    var thumbprint: String { OfflineJWSVerifier.thumbprint(of: jwk) ?? "" }

    func proof(
        _ method: String, _ url: String, accessToken: String? = nil, nonce: String? = nil, issuedAt: Date = Date(),
        id: String = UUID().uuidString, type: String = "dpop+jwt"
    ) throws -> String {
        let header: [String: Any] = ["typ": type, "alg": algorithm, "jwk": jwk]
        var claims: [String: Any] = [
            "jti": id, "htm": method, "htu": url, "iat": Int(issuedAt.timeIntervalSince1970),
        ]
        if let nonce { claims["nonce"] = nonce }
        if let accessToken { claims["ath"] = Base64URL.encode(Data(SHA256.hash(data: Data(accessToken.utf8)))) }
        return try jws(header: header, claims: claims)
    }

    /// A compact JWS of `claims` under `header`, signed with this key.
    func jws(header: [String: Any], claims: [String: Any]) throws -> String {
        let input =
            Base64URL.encode(try JSONSerialization.data(withJSONObject: header, options: .sortedKeys)) + "."
            + Base64URL.encode(try JSONSerialization.data(withJSONObject: claims, options: .sortedKeys))
        return input + "." + Base64URL.encode(try sign(Data(input.utf8)))
    }
}
