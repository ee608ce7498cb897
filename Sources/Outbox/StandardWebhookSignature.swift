import Crypto
public import Foundation

/// The Standard Webhooks symmetric signature: HMAC-SHA256 over `id.timestamp.body` with the endpoint's
/// secret (`whsec_` and base64), sent as `webhook-signature: v1,<base64>`.
public enum StandardWebhookSignature {
    public static let secretPrefix = "whsec_"

    /// A new secret: 32 random bytes.
    public static func generateSecret() -> String {
        secretPrefix + SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) }.base64EncodedString()
    }

    /// The secret's key bytes, or nil when it is not a Standard Webhooks secret.
    public static func key(_ secret: String) -> SymmetricKey? {
        let text = secret.hasPrefix(secretPrefix) ? String(secret.dropFirst(secretPrefix.count)) : secret
        guard let bytes = Data(base64Encoded: text), bytes.count >= 24 else { return nil }
        return SymmetricKey(data: bytes)
    }

    /// The `webhook-signature` header's value.
    public static func header(key: SymmetricKey, id: String, timestamp: Int64, body: Data) -> String {
        var signed = Data("\(id).\(timestamp).".utf8)
        signed.append(body)
        return "v1," + Data(HMAC<SHA256>.authenticationCode(for: signed, using: key)).base64EncodedString()
    }

    /// Signatures read from one header at most: a sender rotating secrets sends two.
    static let maximumCandidates = 8

    /// Whether any `v1` signature in a `webhook-signature` header (space-separated, as senders rotating
    /// secrets send several) is the HMAC of `id.timestamp.body`; compared in constant time.
    public static func verify(_ header: String, key: SymmetricKey, id: String, timestamp: Int64, body: Data) -> Bool {
        var signed = Data("\(id).\(timestamp).".utf8)
        signed.append(body)
        let expected = HMAC<SHA256>.authenticationCode(for: signed, using: key)
        var valid = false
        for candidate in header.split(separator: " ").prefix(maximumCandidates) {
            guard candidate.hasPrefix("v1,"), let mac = Data(base64Encoded: String(candidate.dropFirst(3))) else {
                continue
            }
            // The MAC type's comparison with bytes is constant-time.
            if expected == mac { valid = true }
        }
        return valid
    }
}
