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
        let jwk: JWK?
        let crit: [String]?
    }

    /// A JWK's string members; others (WebCrypto adds `ext` and `key_ops`) play no part in a proof, and
    /// any private member refuses the key.
    private struct JWK: Decodable {
        let members: [String: String]
        let hasPrivateMembers: Bool

        private struct Name: CodingKey {
            let stringValue: String
            init(stringValue: String) { self.stringValue = stringValue }
            var intValue: Int? { nil }
            init?(intValue: Int) { nil }
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: Name.self)
            var members: [String: String] = [:]
            for key in container.allKeys {
                if let text = try? container.decode(String.self, forKey: key) { members[key.stringValue] = text }
            }
            self.members = members
            hasPrivateMembers = container.allKeys.contains {
                ["d", "p", "q", "dp", "dq", "qi", "priv", "k"].contains($0.stringValue)
            }
        }
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
        guard let key = header.jwk, !key.hasPrivateMembers,
            let thumbprint = OfflineJWSVerifier.thumbprint(of: key.members)
        else { throw refuse("the proof's jwk must be a public key") }
        let jwk = key.members
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

    /// `htu` as RFC 9449 §4.3 compares it: without query and fragment, with the scheme and host in lower
    /// case and the scheme's default port left out (RFC 3986 §6.2.2, §6.2.3).
    static func target(_ url: String) -> String {
        let bare = url.prefix { $0 != "?" && $0 != "#" }
        guard let separator = bare.range(of: "://") else { return String(bare) }
        let scheme = bare[..<separator.lowerBound].lowercased()
        let rest = bare[separator.upperBound...]
        let authority = rest.prefix { $0 != "/" }
        var host = authority.lowercased()
        if let defaultPort = ["https": ":443", "http": ":80"][scheme], host.hasSuffix(defaultPort) {
            host.removeLast(defaultPort.count)
        }
        let path = rest.dropFirst(authority.count)
        return scheme + "://" + host + (path.isEmpty ? "/" : path)
    }
}
