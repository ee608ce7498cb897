import Foundation

/// NIST SP 800-63B §3.1.1.2: a length floor and ceiling, no composition rules, and no password
/// that appears in a list of commonly used ones.
public struct PasswordPolicy: Sendable {
    public static let minimumCharacters = 12
    public static let maximumBytes = 1024
    private let common: Set<String>

    /// The list shipped with QSPP: Django's 20,000 most common passwords (BSD licence), itself from
    /// Royce Williams' list compiled from breach corpora.
    public static let standard = PasswordPolicy(commonPasswords: loadShippedList())

    public init(commonPasswords: Set<String>) {
        common = commonPasswords
    }

    public func check(_ password: String) throws(IdentityError) {
        // NIST counts each Unicode code point as one character.
        guard password.unicodeScalars.count >= Self.minimumCharacters else {
            throw .weakPassword("password must be at least \(Self.minimumCharacters) characters")
        }
        guard password.utf8.count <= Self.maximumBytes else {
            throw .weakPassword("password must be at most \(Self.maximumBytes) bytes")
        }
        guard !common.contains(password.lowercased()) else {
            throw .weakPassword("this password is on a list of commonly used passwords; choose another")
        }
    }

    private static func loadShippedList() -> Set<String> {
        guard let url = Bundle.module.url(forResource: "common-passwords", withExtension: "txt"),
            let text = try? String(contentsOf: url, encoding: .utf8)
        else {
            fatalError("the common-passwords list is missing from the Identity bundle")
        }
        return Set(text.split(whereSeparator: \.isNewline).map { $0.lowercased() })
    }
}
