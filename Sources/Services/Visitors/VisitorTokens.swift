import Crypto
public import Foundation
import Kernel
public import PQCrypto

/// The token a website's SDK keeps in a first-party cookie for an anonymous visitor:
/// `v1.<id>.<issued>.<mac>`, the id random, `issued` in Unix seconds, and `mac` the base64url
/// HMAC-SHA256 of the rest under a key derived from the master key. A forged or altered token does
/// not verify and an old one is refused: the visitor starts afresh, as with the cookie expired.
public struct VisitorTokens: Sendable {
    let key: SymmetricKey
    /// Thirteen months: the longest a consent cookie should live, as the CNIL advises.
    public static let lifetime: TimeInterval = 395 * 24 * 3600
    static let maximumLength = 200

    public init(masterKey: MasterKey) {
        key = masterKey.derivedKey(for: "visitor tokens")
    }

    /// A new visitor and their token.
    public func issue(at date: Date) -> (visitor: UUID, token: String, expiresAt: Date) {
        let visitor = UUID()
        let issued = Int64(date.timeIntervalSince1970)
        let body = "v1.\(visitor.lowercasedString).\(issued)"
        return (visitor, body + "." + mac(body), Date(timeIntervalSince1970: TimeInterval(issued) + Self.lifetime))
    }

    /// The visitor a token names, if it is ours, unaltered and not expired.
    public func visitor(_ token: String, at date: Date) throws -> UUID {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard token.utf8.count <= Self.maximumLength, parts.count == 4, parts[0] == "v1",
            let visitor = UUID(uuidString: String(parts[1])), let issued = Int64(parts[2]),
            let given = Base64URL.decode(parts[3])
        else { throw ServiceError.visitorNotAuthentic }
        let body = parts[0...2].joined(separator: ".")
        guard HMAC<SHA256>.isValidAuthenticationCode(given, authenticating: Data(body.utf8), using: key) else {
            throw ServiceError.visitorNotAuthentic
        }
        let age = date.timeIntervalSince1970 - TimeInterval(issued)
        // A little clock skew between replicas is forgiven; a token from the future is not ours.
        guard age >= -300, age <= Self.lifetime else { throw ServiceError.visitorNotAuthentic }
        return visitor
    }

    private func mac(_ body: String) -> String {
        Base64URL.encode(Data(HMAC<SHA256>.authenticationCode(for: Data(body.utf8), using: key)))
    }
}
