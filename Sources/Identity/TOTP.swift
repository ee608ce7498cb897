import Crypto
import ExtrasBase64
import Foundation

/// Time-based one-time passwords (RFC 6238 over RFC 4226): HMAC-SHA1, 6 digits, 30-second steps,
/// which is what every authenticator app speaks. HMAC comes from swift-crypto, base32 from
/// swift-extras-base64.
public struct TOTP: Sendable {
    public static let digits = 6
    public static let period: Int64 = 30
    /// Codes from one step either side are accepted, for clock drift.
    public static let allowedDrift: Int64 = 1

    public let secret: Data

    public init(secret: Data) {
        self.secret = secret
    }

    /// 160 random bits, as RFC 4226 recommends.
    public static func generate() -> TOTP {
        TOTP(secret: SymmetricKey(size: .init(bitCount: 160)).withUnsafeBytes { Data($0) })
    }

    public var base32Secret: String {
        String(base32Encoding: secret, options: .omitPaddingCharacter)
    }

    public func provisioningURI(account: String, issuer: String) -> String {
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-._~@"))
        let label = "\(issuer):\(account)".addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
        let issuerParameter = issuer.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
        return "otpauth://totp/\(label)?secret=\(base32Secret)&issuer=\(issuerParameter)"
            + "&algorithm=SHA1&digits=\(Self.digits)&period=\(Self.period)"
    }

    public static func step(at date: Date) -> Int64 {
        Int64(date.timeIntervalSince1970.rounded(.down)) / period
    }

    public func code(step: Int64) -> String {
        var counter = UInt64(bitPattern: step).bigEndian
        let mac = withUnsafeBytes(of: &counter) {
            HMAC<Insecure.SHA1>.authenticationCode(for: $0, using: SymmetricKey(data: secret))
        }
        let bytes = Array(mac)
        // RFC 4226 §5.3 dynamic truncation.
        let offset = Int(bytes[bytes.count - 1] & 0x0f)
        let binary =
            (UInt32(bytes[offset] & 0x7f) << 24) | (UInt32(bytes[offset + 1]) << 16)
            | (UInt32(bytes[offset + 2]) << 8) | UInt32(bytes[offset + 3])
        let value = binary % 1_000_000
        let text = String(value)
        return String(repeating: "0", count: Self.digits - text.count) + text
    }

    /// The step whose code `candidate` is, within the allowed drift, or nil. Compares in constant time.
    public func matchingStep(for candidate: String, at date: Date) -> Int64? {
        guard candidate.count == Self.digits, candidate.allSatisfy(\.isASCII), candidate.allSatisfy(\.isNumber) else {
            return nil
        }
        let now = Self.step(at: date)
        var match: Int64?
        for step in (now - Self.allowedDrift)...(now + Self.allowedDrift)
        where ConstantTime.equal(Array(code(step: step).utf8), Array(candidate.utf8)) {
            match = step
        }
        return match
    }
}

/// Comparisons of secrets whose time does not depend on where they differ.
public enum ConstantTime {
    public static func equal(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }
}
