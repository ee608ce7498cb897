import Foundation

/// An email address as QSPP keys accounts by it: trimmed and lower-cased, so `Alice@Example.com `
/// and `alice@example.com` are one account.
public struct EmailAddress: Hashable, Sendable, CustomStringConvertible {
    public let normalized: String

    public init(_ raw: String) throws(IdentityError) {
        let email = raw.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        guard email.utf8.count <= 254 else { throw .invalidEmail("email must be at most 254 bytes") }
        let parts = email.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[0].utf8.count <= 64, parts[1].contains("."),
            !parts[1].hasPrefix("."), !parts[1].hasSuffix("."),
            email.unicodeScalars.allSatisfy({
                $0.properties.isWhitespace == false && $0.value >= 0x21 && $0.value != 0x7F
            })
        else { throw .invalidEmail("email must look like name@example.com") }
        normalized = email
    }

    public var description: String { normalized }
}
