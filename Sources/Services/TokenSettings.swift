public import Foundation
public import PQCrypto

/// How access tokens are signed and addressed.
public struct TokenSettings: Sendable {
    public var algorithm = SigningAlgorithm.mldsa65
    /// `iss` of every token, receipt and checkpoint; nil for the server's own URL
    /// (``ServiceSettings/issuer`` holds the one in effect). Split roles must agree on one.
    public var issuer: String?
    public var audience = "qspp-api"
    public var accessTokenLifetime: TimeInterval = 15 * 60

    public init() {}

    public init(reader: SettingsReader) throws(InvalidSetting) {
        let qspp = reader.scoped(to: "qspp")
        let token = qspp.scoped(to: "token")
        algorithm = try token.oneOf(
            "algorithm", SigningAlgorithm.forTokens.map { ($0.rawValue, $0) }, default: algorithm)
        issuer = token.string("issuer")
        audience = token.string("audience") ?? audience
        accessTokenLifetime = TimeInterval(
            try qspp.integer("access.token.ttl", atLeast: 60, default: Int(accessTokenLifetime)))
    }
}
