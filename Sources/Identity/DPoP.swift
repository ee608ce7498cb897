import Crypto
public import Foundation
import PQCrypto

/// A DPoP proof (RFC 9449 §4.2), checked: its header names an accepted algorithm and carries a public
/// key, its signature verifies with that key, and it is fresh. What it proves (method, URL, token,
/// nonce, that it was not seen before) the caller checks against the request.
public struct DPoPProof: Sendable, Equatable {
    /// The RFC 7638 thumbprint of the proof's key: what a bound token's `cnf.jkt` names.
    public let thumbprint: String
    public let id: String
    public let method: String
    public let url: String
    public let issuedAt: Date
    public let nonce: String?
    public let accessTokenHash: String?

    public static let algorithms = ["ML-DSA-65", "EdDSA", "ES256"]
    /// How far a proof's `iat` may be from our clock.
    public static let window: TimeInterval = 60
    /// Larger than any proof of an accepted algorithm (an ML-DSA-65 key and signature are about 7 KB).
    static let maximumLength = 16 * 1024

    private struct Header: Decodable {
        let typ: String?
        let alg: String?
        let jwk: [String: String]?
        let crit: [String]?
    }

    private struct Claims: Decodable {
        let jti: String?
        let htm: String?
        let htu: String?
        let iat: Double?
        let nonce: String?
        let ath: String?
    }

    public init(parsing compact: String, now: Date) throws(OAuthError) {
        func refuse(_ why: String) -> OAuthError { OAuthError(.invalidDPoPProof, why) }
        guard compact.utf8.count <= Self.maximumLength else { throw refuse("the proof is too long") }
        let parts = compact.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let headerBytes = Base64URL.decode(parts[0]), let payload = Base64URL.decode(parts[1]),
            let signature = Base64URL.decode(parts[2]),
            let header = try? JSONDecoder().decode(Header.self, from: headerBytes),
            let claims = try? JSONDecoder().decode(Claims.self, from: payload)
        else { throw refuse("the proof is not a well-formed JWT") }
        guard header.typ == "dpop+jwt" else { throw refuse("the proof's typ must be dpop+jwt") }
        guard let algorithm = header.alg, Self.algorithms.contains(algorithm) else {
            throw refuse("the proof's alg must be one of " + Self.algorithms.joined(separator: ", "))
        }
        guard header.crit == nil else { throw refuse("the proof has critical header parameters") }
        guard let jwk = header.jwk, jwk["d"] == nil, jwk["priv"] == nil,
            let thumbprint = OfflineJWSVerifier.thumbprint(of: jwk)
        else { throw refuse("the proof's jwk must be a public key") }
        let input = Data("\(parts[0]).\(parts[1])".utf8)
        guard (try? OfflineJWSVerifier.isValidSignature(signature, of: input, algorithm: algorithm, jwk: jwk)) == true
        else { throw refuse("the proof's signature does not verify with its jwk") }
        guard let id = claims.jti, !id.isEmpty, id.utf8.count <= 256, let method = claims.htm, let url = claims.htu,
            let iat = claims.iat, iat.isFinite
        else { throw refuse("the proof must carry jti, htm, htu and iat") }
        let issuedAt = Date(timeIntervalSince1970: iat)
        guard abs(issuedAt.timeIntervalSince(now)) <= Self.window else {
            throw refuse("the proof was not made just now")
        }
        self.thumbprint = thumbprint
        self.id = id
        self.method = method
        self.url = url
        self.issuedAt = issuedAt
        self.nonce = claims.nonce
        self.accessTokenHash = claims.ath
    }

    /// `ath`: the base64url SHA-256 of the access token the proof goes with.
    public static func hash(ofAccessToken token: String) -> String {
        Base64URL.encode(Data(SHA256.hash(data: Data(token.utf8))))
    }

    /// `htu` compared as RFC 9449 §4.3 says: without query and fragment.
    static func target(_ url: String) -> Substring {
        url.prefix { $0 != "?" && $0 != "#" }
    }
}
