import Crypto
import Foundation
import PQCrypto

/// `private_key_jwt` (RFC 7523 §2.2 and §3, OIDC Core §9): the client proves itself with a short-lived
/// JWT signed by one of its registered keys, naming itself as issuer and subject and QSPP as audience.
/// Each assertion is accepted once, on any replica.
extension IdentityService {
    public static let clientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    /// The furthest ahead an assertion's expiry may be: the replay table keeps its `jti` that long. An
    /// hour is what common client libraries (authlib among them) give their assertions.
    static let maximumAssertionLifetime: TimeInterval = 60 * 60
    /// Clock difference tolerated between client and server.
    static let assertionLeeway: TimeInterval = 60

    private struct AssertionClaims: Decodable {
        let iss: String?
        let sub: String?
        let aud: Audience?
        let exp: Double?
        let nbf: Double?
        let iat: Double?
        let jti: String?

        enum Audience: Decodable {
            case one(String), many([String])
            init(from decoder: any Decoder) throws {
                let container = try decoder.singleValueContainer()
                if let one = try? container.decode(String.self) {
                    self = .one(one)
                } else {
                    self = .many(try container.decode([String].self))
                }
            }
            var values: [String] {
                switch self {
                case .one(let value): [value]
                case .many(let values): values
                }
            }
        }
    }

    /// The client an assertion claims to come from, read before its signature is checked, to find the
    /// keys that check it.
    public static func claimedClient(ofAssertion assertion: String) -> String? {
        let parts = assertion.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let payload = Base64URL.decode(parts[1]),
            let claims = try? JSONDecoder().decode(AssertionClaims.self, from: payload)
        else { return nil }
        return claims.sub
    }

    /// Checks `assertion` for `client`, and spends it.
    func checkClientAssertion(_ assertion: String, for client: OAuthClient) async throws {
        guard assertion.utf8.count <= TokenAuthority.maximumTokenLength,
            let jwks = try? JSONSerialization.data(withJSONObject: ["keys": client.keys]),
            let verified = try? OfflineJWSVerifier(jwks: jwks).verify(assertion, typeIn: [nil, "JWT"]),
            let claims = try? JSONDecoder().decode(AssertionClaims.self, from: verified.payload)
        else { throw OAuthError.invalidClient }
        let now = now().timeIntervalSince1970
        let audiences = Set(
            [tokens.issuer] + ["token", "par", "introspect", "revoke"].map { tokens.url(of: "/" + $0) })
        // One audience only: an assertion a client signed for several servers is not for QSPP alone.
        guard claims.iss == client.id, claims.sub == client.id,
            let audience = claims.aud?.values, audience.count == 1, audiences.contains(audience[0]),
            let expiry = claims.exp, expiry > now - Self.assertionLeeway,
            expiry <= now + Self.maximumAssertionLifetime,
            (claims.nbf ?? 0) <= now + Self.assertionLeeway, (claims.iat ?? 0) <= now + Self.assertionLeeway,
            let jti = claims.jti, !jti.isEmpty, jti.utf8.count <= 256
        else { throw OAuthError.invalidClient }
        let key = "assertion " + Base64URL.encode(Data(SHA256.hash(data: Data("\(client.id) \(jti)".utf8))))
        guard
            try await repository.spendChallenge(
                id: key, expiresAt: Date(timeIntervalSince1970: expiry + Self.assertionLeeway))
        else { throw OAuthError.invalidClient }
    }
}
