public import Configuration
import Foundation
public import Identity
public import Logging
public import PQCrypto
import Privacy
public import Storage
public import Valuation

/// Everything `qspp serve` needs, read once at start and validated.
///
/// Sources, highest precedence first: `serve` flags, environment variables, the optional config
/// file (`KEY=value` lines with the same names as the environment variables), then defaults.
public struct AppConfiguration: Sendable {
    public var host: String
    public var port: Int
    public var databaseURL: DatabaseURL
    public var logLevel: Logger.Level
    public var migrateOnStart: Bool
    /// The base64 seed of the key-encryption key, or a file holding it. With neither, an SQLite store
    /// keeps one in `master.key` beside its database file; PostgreSQL deployments must name one.
    public var masterKey: String?
    public var masterKeyFile: String?
    /// Master keys being rotated away from: they open what they sealed until `qspp keys rotate-kek`
    /// has re-sealed it under the current one.
    public var previousMasterKeys: [String] = []
    public var tokenAlgorithm: SigningAlgorithm = .mldsa65
    /// `iss` of every token; defaults to the server's own URL.
    public var tokenIssuer: String?
    public var tokenAudience = "qspp-api"
    public var accessTokenLifetime: TimeInterval = 15 * 60
    public var argon2 = Argon2Parameters.owaspMinimum
    /// Per client address and minute.
    public var loginRateLimit = 5
    public var registrationRateLimit = 10
    public var mfaRateLimit = 10
    /// PEM files; with both set, `serve` speaks TLS 1.3 only, offering X25519MLKEM768 first.
    public var tlsCertificateFile: String?
    public var tlsPrivateKeyFile: String?
    /// Named in every consent receipt as the controller (GDPR Art. 4(7)).
    public var controllerName = "QSPP"
    public var controllerContact: String?
    /// The law consent receipts are given under, such as `EU` (GDPR) or `US-CA` (CCPA/CPRA).
    public var jurisdiction = "EU"
    /// How often a moved ledger head gets a signed checkpoint.
    public var checkpointInterval = 10
    /// Days each class of personal data is kept before the retention job purges it.
    public var retentionDays: [RetentionClass: Int] = [.sessions: 90, .authEvents: 365, .closedRequests: 1095]
    /// What each category of data is worth; docs/valuation.md documents the default.
    public var priceBook = PriceBook.standard
    public var valuationLimits = ValuationLimits()
    /// The gateway's token buckets, per minute.
    public var rateLimits = RateLimits()
    /// Reverse proxies whose `X-Forwarded-For` is believed.
    var trustedProxies: [IPNetwork] = []
    /// Origins that may call the API from a browser (`*` for any, without credentials).
    public var corsOrigins: [String] = []
    /// OpenTelemetry spans by OTLP/HTTP (``TracingSetup``); off by default.
    public var tracing = false
    /// What this process serves (``ServerRole``); `all` unless split.
    public var role = ServerRole.all
    /// The gateway's upstream roles (`role = gateway` only).
    public var upstreams = Upstreams()
    /// Threads a valuation job may use: by default half the cores, so requests keep the rest.
    public var valuationThreads = max(1, ProcessInfo.processInfo.activeProcessorCount / 2)

    public init(
        host: String = "127.0.0.1", port: Int = 8080, databaseURL: DatabaseURL = .sqlite(path: "./data/qspp.sqlite"),
        logLevel: Logger.Level = .info, migrateOnStart: Bool = true, masterKey: String? = nil
    ) {
        self.host = host
        self.port = port
        self.databaseURL = databaseURL
        self.logLevel = logLevel
        self.migrateOnStart = migrateOnStart
        self.masterKey = masterKey
    }

    public var issuer: String {
        tokenIssuer ?? "\(tlsCertificateFile == nil ? "http" : "https")://\(host):\(port)"
    }

    /// The documented keys, as environment variables name them.
    public enum Key: String, CaseIterable, Sendable {
        case host = "QSPP_HOST"
        case port = "QSPP_PORT"
        case databaseURL = "QSPP_DATABASE_URL"
        case logLevel = "QSPP_LOG_LEVEL"
        case migrateOnStart = "QSPP_MIGRATE_ON_START"
        case masterKey = "QSPP_MASTER_KEY"
        case masterKeyFile = "QSPP_MASTER_KEY_FILE"
        case previousMasterKeys = "QSPP_PREVIOUS_MASTER_KEYS"
        case tokenAlgorithm = "QSPP_TOKEN_ALGORITHM"
        case tokenIssuer = "QSPP_TOKEN_ISSUER"
        case tokenAudience = "QSPP_TOKEN_AUDIENCE"
        case accessTokenLifetime = "QSPP_ACCESS_TOKEN_TTL"
        case argon2Memory = "QSPP_ARGON2_MEMORY_KIB"
        case argon2Iterations = "QSPP_ARGON2_ITERATIONS"
        case argon2Parallelism = "QSPP_ARGON2_PARALLELISM"
        case loginRateLimit = "QSPP_LOGIN_RATE_LIMIT"
        case registrationRateLimit = "QSPP_REGISTER_RATE_LIMIT"
        case mfaRateLimit = "QSPP_MFA_RATE_LIMIT"
        case tlsCertificateFile = "QSPP_TLS_CERT_FILE"
        case tlsPrivateKeyFile = "QSPP_TLS_KEY_FILE"
        case controllerName = "QSPP_CONTROLLER_NAME"
        case controllerContact = "QSPP_CONTROLLER_CONTACT"
        case jurisdiction = "QSPP_JURISDICTION"
        case checkpointInterval = "QSPP_LEDGER_CHECKPOINT_MINUTES"
        case sessionRetention = "QSPP_RETENTION_SESSIONS_DAYS"
        case authEventRetention = "QSPP_RETENTION_AUTH_EVENTS_DAYS"
        case closedRequestRetention = "QSPP_RETENTION_CLOSED_REQUESTS_DAYS"
        case globalRateLimit = "QSPP_RATE_LIMIT_GLOBAL"
        case consentRateLimit = "QSPP_RATE_LIMIT_CONSENT"
        case costlyRateLimit = "QSPP_RATE_LIMIT_COSTLY"
        case corsOrigins = "QSPP_CORS_ORIGINS"
        case trustedProxies = "QSPP_TRUSTED_PROXIES"
        case priceBook = "QSPP_PRICE_BOOK"
        case valuationThreads = "QSPP_VALUATION_THREADS"
        case valuationMaxValidation = "QSPP_VALUATION_MAX_VALIDATION_POINTS"
        case valuationMaxMonteCarlo = "QSPP_VALUATION_MAX_MONTE_CARLO_RECORDS"
        case tracing = "QSPP_TRACING"
        case role = "QSPP_ROLE"
        case consentUpstream = "QSPP_UPSTREAM_CONSENT"
        case authUpstream = "QSPP_UPSTREAM_AUTH"
        case valuationUpstream = "QSPP_UPSTREAM_VALUATION"
        case upstreamTimeout = "QSPP_UPSTREAM_TIMEOUT_SECONDS"

        /// The same key in swift-configuration's dotted form, which the environment provider maps back
        /// to the upper-case name.
        var configKey: ConfigKey { ConfigKey(rawValue.lowercased().replacingOccurrences(of: "_", with: ".")) }

        var isSecret: Bool { self == .masterKey || self == .previousMasterKeys || self == .databaseURL }
    }

    /// A configuration value that is missing or wrong. The message names the key and never repeats a secret.
    public struct InvalidValue: Error, CustomStringConvertible {
        public let key: Key
        public let reason: String
        public var description: String { "\(key.rawValue): \(reason)" }
    }

    /// Reads and validates every key from `reader`.
    public init(reader: ConfigReader) throws(InvalidValue) {
        func value(_ key: Key) -> String? {
            reader.string(forKey: key.configKey, isSecret: key.isSecret).flatMap { $0.isEmpty ? nil : $0 }
        }
        let defaults = AppConfiguration()
        self = defaults
        if let host = value(.host) { self.host = host }
        if let text = value(.port) {
            guard let port = Int(text), (1...65535).contains(port) else {
                throw InvalidValue(key: .port, reason: "must be a whole number from 1 to 65535, got '\(text)'")
            }
            self.port = port
        }
        if let text = value(.databaseURL) {
            do {
                self.databaseURL = try DatabaseURL(parsing: text)
            } catch {
                throw InvalidValue(key: .databaseURL, reason: error.description)
            }
        }
        if let text = value(.logLevel) {
            guard let level = Logger.Level(rawValue: text.lowercased()) else {
                let levels = Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")
                throw InvalidValue(key: .logLevel, reason: "must be one of \(levels), got '\(text)'")
            }
            self.logLevel = level
        }
        func number(_ key: Key, atLeast minimum: Int, current: Int) throws(InvalidValue) -> Int {
            guard let text = value(key) else { return current }
            guard let number = Int(text), number >= minimum, number <= 1 << 30 else {
                throw InvalidValue(key: key, reason: "must be a whole number of at least \(minimum), got '\(text)'")
            }
            return number
        }
        if let text = value(.masterKey) {
            guard (try? MasterKey(base64Seed: text)) != nil else {
                throw InvalidValue(key: .masterKey, reason: PQCryptoError.invalidMasterKey.description)
            }
            self.masterKey = text
        }
        self.masterKeyFile = value(.masterKeyFile)
        if let text = value(.previousMasterKeys) {
            let keys = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            guard keys.allSatisfy({ (try? MasterKey(base64Seed: $0)) != nil }) else {
                throw InvalidValue(
                    key: .previousMasterKeys,
                    reason: "must be comma-separated master keys: " + PQCryptoError.invalidMasterKey.description)
            }
            self.previousMasterKeys = keys
        }
        if let text = value(.tokenAlgorithm) {
            guard let algorithm = SigningAlgorithm(rawValue: text) else {
                let names = SigningAlgorithm.allCases.map(\.rawValue).joined(separator: ", ")
                throw InvalidValue(key: .tokenAlgorithm, reason: "must be one of \(names), got '\(text)'")
            }
            self.tokenAlgorithm = algorithm
        }
        self.tokenIssuer = value(.tokenIssuer)
        if let audience = value(.tokenAudience) { self.tokenAudience = audience }
        self.accessTokenLifetime = TimeInterval(
            try number(.accessTokenLifetime, atLeast: 60, current: Int(accessTokenLifetime)))
        let minimum = Argon2Parameters.owaspMinimum
        self.argon2 = Argon2Parameters(
            memoryKiB: UInt32(
                try number(.argon2Memory, atLeast: Int(minimum.memoryKiB), current: Int(argon2.memoryKiB))),
            iterations: UInt32(
                try number(.argon2Iterations, atLeast: Int(minimum.iterations), current: Int(argon2.iterations))),
            parallelism: UInt32(
                try number(.argon2Parallelism, atLeast: Int(minimum.parallelism), current: Int(argon2.parallelism))))
        self.loginRateLimit = try number(.loginRateLimit, atLeast: 1, current: loginRateLimit)
        self.registrationRateLimit = try number(.registrationRateLimit, atLeast: 1, current: registrationRateLimit)
        self.mfaRateLimit = try number(.mfaRateLimit, atLeast: 1, current: mfaRateLimit)
        rateLimits.globalPerAddress = try number(.globalRateLimit, atLeast: 1, current: rateLimits.globalPerAddress)
        rateLimits.consentPerUser = try number(.consentRateLimit, atLeast: 1, current: rateLimits.consentPerUser)
        rateLimits.costlyPerUser = try number(.costlyRateLimit, atLeast: 1, current: rateLimits.costlyPerUser)
        if let text = value(.trustedProxies) {
            let networks = text.split(separator: ",").map { IPNetwork($0.trimmingCharacters(in: .whitespaces)) }
            guard networks.allSatisfy({ $0 != nil }) else {
                throw InvalidValue(
                    key: .trustedProxies, reason: "must be comma-separated addresses or networks such as 10.0.0.0/8")
            }
            self.trustedProxies = networks.compactMap { $0 }
        }
        if let text = value(.corsOrigins) {
            let origins = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            guard origins.allSatisfy({ $0 == "*" || Self.isOrigin($0) }) else {
                throw InvalidValue(
                    key: .corsOrigins, reason: "must be comma-separated origins such as https://app.example.com, or *")
            }
            self.corsOrigins = origins
        }
        self.tlsCertificateFile = value(.tlsCertificateFile)
        self.tlsPrivateKeyFile = value(.tlsPrivateKeyFile)
        guard (tlsCertificateFile == nil) == (tlsPrivateKeyFile == nil) else {
            throw InvalidValue(
                key: .tlsCertificateFile, reason: "set both QSPP_TLS_CERT_FILE and QSPP_TLS_KEY_FILE, or neither")
        }
        if let name = value(.controllerName) { self.controllerName = name }
        self.controllerContact = value(.controllerContact)
        if let jurisdiction = value(.jurisdiction) { self.jurisdiction = jurisdiction }
        self.checkpointInterval = try number(.checkpointInterval, atLeast: 1, current: checkpointInterval)
        for (key, retention) in [
            (Key.sessionRetention, RetentionClass.sessions), (.authEventRetention, .authEvents),
            (.closedRequestRetention, .closedRequests),
        ] {
            retentionDays[retention] = try number(key, atLeast: 1, current: retentionDays[retention] ?? 1)
        }
        if let path = value(.priceBook) {
            do {
                let book = try JSONDecoder().decode(PriceBook.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
                try book.validate()
                self.priceBook = book
            } catch let error as ValuationError {
                throw InvalidValue(key: .priceBook, reason: error.description)
            } catch {
                throw InvalidValue(
                    key: .priceBook, reason: "cannot read '\(path)' as a price book (see docs/valuation.md)")
            }
        }
        self.valuationThreads = try number(.valuationThreads, atLeast: 1, current: valuationThreads)
        valuationLimits.maximumValidationPoints = try number(
            .valuationMaxValidation, atLeast: 1, current: valuationLimits.maximumValidationPoints)
        valuationLimits.maximumMonteCarloRecords = try number(
            .valuationMaxMonteCarlo, atLeast: 2, current: valuationLimits.maximumMonteCarloRecords)
        if let text = value(.tracing) {
            switch text.lowercased() {
            case "off": self.tracing = false
            case "otlp": self.tracing = true
            default: throw InvalidValue(key: .tracing, reason: "must be off or otlp, got '\(text)'")
            }
        }
        try readTopology(value)
        if let text = value(.migrateOnStart) {
            switch text.lowercased() {
            case "true", "1", "yes": self.migrateOnStart = true
            case "false", "0", "no": self.migrateOnStart = false
            default: throw InvalidValue(key: .migrateOnStart, reason: "must be true or false, got '\(text)'")
            }
        }
    }
}

extension AppConfiguration {
    private mutating func readTopology(_ value: (Key) -> String?) throws(InvalidValue) {
        if let text = value(.role) {
            guard let role = ServerRole(rawValue: text.lowercased()) else {
                let names = ServerRole.allCases.map(\.rawValue).joined(separator: ", ")
                throw InvalidValue(key: .role, reason: "must be one of \(names), got '\(text)'")
            }
            self.role = role
        }
        let keys: [(ServerRole, Key)] = [
            (.consent, .consentUpstream), (.auth, .authUpstream), (.valuation, .valuationUpstream),
        ]
        for (role, key) in keys {
            guard let text = value(key) else { continue }
            guard Upstreams.isBaseURL(text), let url = URL(string: text) else {
                throw InvalidValue(key: key, reason: "must be a base URL such as http://consent:3000, got '\(text)'")
            }
            upstreams.urls[role] = url
        }
        if let text = value(.upstreamTimeout) {
            guard let seconds = Int(text), (1...3600).contains(seconds) else {
                throw InvalidValue(key: .upstreamTimeout, reason: "must be a whole number of seconds from 1 to 3600")
            }
            upstreams.timeout = .seconds(seconds)
        }
        // Tokens issued by the auth role must verify at the gateway and every other role.
        if role != .all, tokenIssuer == nil {
            throw InvalidValue(
                key: .tokenIssuer,
                reason: "the \(role) role needs the gateway's public URL here, the same on every role")
        }
        // Split roles are separate processes on one database, which only PostgreSQL serves safely.
        if role != .all, case .sqlite = databaseURL {
            throw InvalidValue(
                key: .role,
                reason: "the \(role) role needs a shared PostgreSQL database (QSPP_DATABASE_URL=postgres://...)")
        }
    }

    /// Requests per minute the gateway lets through.
    public struct RateLimits: Sendable, Equatable {
        /// Every request, per client address (the seed's 1000 a minute).
        public var globalPerAddress = 1000
        /// Consent routes, per user (the seed's 100 a minute).
        public var consentPerUser = 100
        /// Receipts, exports, valuation and ledger verification: each costs real work.
        public var costlyPerUser = 60
        public init() {}
    }

    /// `scheme://host[:port]`, nothing more, as browsers send it in `Origin`.
    static func isOrigin(_ text: String) -> Bool {
        guard let url = URL(string: text), let scheme = url.scheme, ["http", "https"].contains(scheme),
            url.host != nil, url.path.isEmpty, url.query == nil, url.fragment == nil, url.user == nil
        else { return false }
        return !text.hasSuffix("/")
    }

    /// The standard layering: `overrides` (from command-line flags), the process environment, then the
    /// config file if one is named.
    public static func load(
        overrides: [Key: String], environment: [String: String], configFile: String?
    ) async throws -> AppConfiguration {
        var providers: [any ConfigProvider] = [
            InMemoryProvider(
                name: "flags",
                values: Dictionary(
                    uniqueKeysWithValues: overrides.map { key, value in
                        (AbsoluteConfigKey(key.configKey), ConfigValue(.string(value), isSecret: key.isSecret))
                    })),
            EnvironmentVariablesProvider(environmentVariables: environment),
        ]
        if let configFile {
            do {
                providers.append(try await EnvironmentVariablesProvider(environmentFilePath: .init(configFile)))
            } catch {
                throw ConfigFileError(path: configFile)
            }
        }
        return try AppConfiguration(reader: ConfigReader(providers: providers))
    }

    public struct ConfigFileError: Error, CustomStringConvertible {
        public let path: String
        public var description: String { "QSPP_CONFIG_FILE: cannot read '\(path)' as KEY=value lines" }
    }
}
