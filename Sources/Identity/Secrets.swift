import Crypto
import ExtrasBase64
import Foundation
import PQCrypto

/// Opaque high-entropy secrets handed to clients (refresh tokens, recovery codes). They are stored
/// only as SHA-256 digests: with 256 (or 80) random bits a fast hash is enough, and the stored digest is
/// useless to whoever copies the database.
public enum OpaqueSecret {
    /// 256 random bits, base64url.
    public static func generateToken() -> String {
        Base64URL.encode(SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) })
    }

    public static func digest(_ secret: String) -> String {
        Hex.encode(SHA256.hash(data: Data(secret.utf8)))
    }

    /// The refresh token that replaces `token`: always the same one, so that a client retrying a
    /// refresh inside the grace window gets the successor it missed rather than a second chain, and
    /// unguessable without the server's key.
    public static func successor(of token: String, key: SymmetricKey) -> String {
        Base64URL.encode(Data(HMAC<SHA256>.authenticationCode(for: Data(token.utf8), using: key)))
    }

    /// Ten recovery codes, each 80 random bits written as four groups of four base32 characters.
    public static func generateRecoveryCodes(count: Int = 10) -> [String] {
        (0..<count).map { _ in
            let bytes = SymmetricKey(size: .init(bitCount: 80)).withUnsafeBytes { Array($0) }
            let text = String(base32Encoding: bytes, options: .omitPaddingCharacter).lowercased()
            return stride(from: 0, to: 16, by: 4).map { offset in
                let start = text.index(text.startIndex, offsetBy: offset)
                return String(text[start..<text.index(start, offsetBy: 4)])
            }.joined(separator: "-")
        }
    }

    /// Recovery codes are typed by people: ignore case, spaces and dashes.
    public static func normalizeRecoveryCode(_ code: String) -> String {
        let letters = code.lowercased().filter { $0.isLetter || $0.isNumber }
        guard letters.count == 16 else { return letters }
        return stride(from: 0, to: 16, by: 4).map { offset in
            let start = letters.index(letters.startIndex, offsetBy: offset)
            return String(letters[start..<letters.index(start, offsetBy: 4)])
        }.joined(separator: "-")
    }
}
