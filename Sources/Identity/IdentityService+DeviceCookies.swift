import Crypto
import Foundation
import PQCrypto

/// OWASP's device cookies, so that someone who only knows an email cannot keep its owner locked out.
/// A browser or app that has signed in to an account holds a cookie bound to that account by a MAC.
/// Its failed attempts are counted against that cookie alone, and the account-wide lock-out, which
/// anyone can trigger, applies only to clients without one.
extension IdentityService {
    public static let deviceCookieLifetime: TimeInterval = 365 * 24 * 60 * 60

    /// A fresh device cookie for the account behind `email` (normalised): a random nonce and a MAC over
    /// the nonce and the email's digest, so the cookie names no one and fits no other account.
    func deviceCookie(for email: String) -> String {
        let nonce = Base64URL.encode(SymmetricKey(size: .bits128).withUnsafeBytes { Data($0) })
        return nonce + "." + Base64URL.encode(deviceMAC(nonce: nonce, email: email))
    }

    /// The key under which attempts are counted: the device cookie's own, when the client presents a
    /// valid one for this account, and the account's shared one otherwise.
    func throttleKey(email: String, deviceCookie: String?) -> String {
        guard let deviceCookie, deviceCookie.utf8.count <= 128 else { return LoginThrottlePolicy.key(for: email) }
        let parts = deviceCookie.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, let mac = Base64URL.decode(String(parts[1])),
            HMAC<SHA256>.isValidAuthenticationCode(
                mac, authenticating: deviceMessage(nonce: String(parts[0]), email: email), using: deviceCookieKey)
        else { return LoginThrottlePolicy.key(for: email) }
        return "device:" + OpaqueSecret.digest(String(parts[0]))
    }

    private func deviceMAC(nonce: String, email: String) -> Data {
        Data(HMAC<SHA256>.authenticationCode(for: deviceMessage(nonce: nonce, email: email), using: deviceCookieKey))
    }

    private func deviceMessage(nonce: String, email: String) -> Data {
        Data((nonce + "\n" + OpaqueSecret.digest(email)).utf8)
    }
}
