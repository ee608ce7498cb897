import Crypto
import Foundation
import PQCrypto

/// Sender-constrained tokens (RFC 9449): the checks of a DPoP proof against the request it came with,
/// its server nonce, and the replay cache every replica shares (the spent-challenge table).
extension IdentityService {
    /// How long a nonce window lasts; a nonce of the current or the previous window is accepted.
    static let dpopNonceWindow: TimeInterval = 300

    /// The nonce the token endpoint asks proofs to carry (RFC 9449 §8): an HMAC of the current window,
    /// so every replica makes and checks the same one and none is stored.
    public func dpopNonce() -> String {
        dpopNonce(window: Int64(now().timeIntervalSince1970 / Self.dpopNonceWindow))
    }

    private func dpopNonce(window: Int64) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Data("dpop nonce \(window)".utf8), using: dpopNonceKey)
        return Base64URL.encode(Data(mac))
    }

    private func isCurrentDPoPNonce(_ nonce: String) -> Bool {
        let window = Int64(now().timeIntervalSince1970 / Self.dpopNonceWindow)
        return [window, window - 1].contains { candidate in
            ConstantTime.equal(Array(dpopNonce(window: candidate).utf8), Array(nonce.utf8))
        }
    }

    /// Checks the DPoP proof of a request to `url` with `method` (and, at a resource, the access token it
    /// goes with), and spends its `jti`. Returns the thumbprint of the proof's key.
    public func checkDPoP(
        _ proof: String, method: String, url: String, accessToken: String?, requiringNonce: Bool
    ) async throws -> String {
        let checked = try DPoPProof(parsing: proof, now: now())
        func refuse(_ why: String) -> OAuthError { OAuthError(.invalidDPoPProof, why) }
        guard checked.method == method else { throw refuse("the proof's htm is not this request's method") }
        guard DPoPProof.target(checked.url) == DPoPProof.target(url) else {
            throw refuse("the proof's htu is not this request's URL")
        }
        if let accessToken {
            guard let hash = checked.accessTokenHash,
                ConstantTime.equal(Array(hash.utf8), Array(DPoPProof.hash(ofAccessToken: accessToken).utf8))
            else { throw refuse("the proof's ath does not match the access token") }
        }
        if requiringNonce {
            guard let nonce = checked.nonce, isCurrentDPoPNonce(nonce) else {
                throw OAuthError(.useDPoPNonce, "use the nonce in the DPoP-Nonce header")
            }
        }
        let key = "dpop " + Base64URL.encode(Data(SHA256.hash(data: Data("\(checked.thumbprint) \(checked.id)".utf8))))
        guard
            try await repository.spendChallenge(
                id: key, expiresAt: checked.issuedAt.addingTimeInterval(2 * DPoPProof.window))
        else { throw refuse("the proof was used before") }
        return checked.thumbprint
    }
}
