import Foundation
public import Services
public import Storage

/// What this process serves and, at the public edge, how much it lets through and where a gateway
/// forwards to.
public struct GatewaySettings: Sendable {
    /// What this process serves (``ServerRole``); `all` unless split.
    public var role = ServerRole.all
    /// The edge's token buckets, per minute.
    public var rateLimits = RateLimits()
    /// The gateway's upstream roles (`role = gateway` only).
    public var upstreams = Upstreams()

    public init() {}

    /// `issuer` (nil when unset) and `databaseURL` come from their own areas; split roles must agree on both.
    public init(reader: SettingsReader, issuer: String?, databaseURL: DatabaseURL) throws(InvalidSetting) {
        let qspp = reader.scoped(to: "qspp")
        role = try qspp.oneOf("role", default: role)
        let limits = qspp.scoped(to: "rate.limit")
        rateLimits.globalPerAddress = try limits.integer("global", atLeast: 1, default: rateLimits.globalPerAddress)
        rateLimits.consentPerUser = try limits.integer("consent", atLeast: 1, default: rateLimits.consentPerUser)
        rateLimits.costlyPerUser = try limits.integer("costly", atLeast: 1, default: rateLimits.costlyPerUser)
        let upstream = qspp.scoped(to: "upstream")
        for part in ServerRole.upstreams {
            guard let text = upstream.string(part.rawValue) else { continue }
            guard Upstreams.isBaseURL(text), let url = URL(string: text) else {
                throw upstream.invalid(part.rawValue, "must be a base URL such as http://consent:3000, got '\(text)'")
            }
            upstreams.urls[part] = url
        }
        let seconds = Int(upstreams.timeout.components.seconds)
        upstreams.timeout = .seconds(
            try upstream.integer("timeout.seconds", atLeast: 1, atMost: 3600, of: "seconds", default: seconds))
        guard role != .all else { return }
        // Tokens issued by the auth role must verify at the gateway and every other role.
        if issuer == nil {
            throw qspp.invalid(
                "token.issuer", "the \(role) role needs the gateway's public URL here, the same on every role")
        }
        // Split roles are separate processes on one database, which only PostgreSQL serves safely.
        if case .sqlite = databaseURL {
            throw qspp.invalid(
                "role",
                "the \(role) role needs a shared PostgreSQL database (\(qspp.name(of: "database.url"))=postgres://...)")
        }
    }

    /// Requests per minute the edge lets through.
    public struct RateLimits: Sendable, Equatable {
        /// Every request, per client address (the seed's 1000 a minute).
        public var globalPerAddress = 1000
        /// Consent routes, per user (the seed's 100 a minute).
        public var consentPerUser = 100
        /// Receipts, exports, valuation and ledger verification: each costs real work.
        public var costlyPerUser = 60
        public init() {}
    }
}
