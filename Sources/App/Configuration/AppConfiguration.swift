public import Configuration
import Foundation
public import Services
public import Storage

/// Everything `qspp serve` needs, read once at start and validated. Each area reads its own keys and
/// keeps its own defaults, beside the code that uses it.
///
/// Sources, highest precedence first: `serve` flags, environment variables, the optional config
/// file (`KEY=value` lines with the same names as the environment variables), then defaults.
public struct AppConfiguration: Sendable {
    public var server = ServerSettings()
    public var gateway = GatewaySettings()
    public var observability = ObservabilitySettings()
    public var store = StoreSettings()
    public var tokens = TokenSettings()
    public var signIn = SignInSettings()
    public var receipts = ReceiptSettings()
    public var retention = RetentionSettings()
    public var valuation = ValuationSettings()
    public var mail = MailSettings()
    public var webhooks = WebhookSettings()

    /// The defaults, on `databaseURL` and with `masterKey` when given.
    public init(databaseURL: DatabaseURL? = nil, masterKey: String? = nil) {
        if let databaseURL { store.databaseURL = databaseURL }
        store.masterKey = masterKey
    }

    /// Reads and validates every key from `reader`.
    public init(reader: ConfigReader) throws(InvalidValue) {
        let settings = SettingsReader(reader)
        server = try ServerSettings(reader: settings)
        observability = try ObservabilitySettings(reader: settings)
        store = try StoreSettings(reader: settings)
        tokens = try TokenSettings(reader: settings)
        signIn = try SignInSettings(reader: settings)
        receipts = try ReceiptSettings(reader: settings)
        retention = try RetentionSettings(reader: settings)
        valuation = try ValuationSettings(reader: settings)
        mail = try MailSettings(reader: settings)
        webhooks = try WebhookSettings(reader: settings)
        gateway = try GatewaySettings(reader: settings, issuer: tokens.issuer, databaseURL: store.databaseURL)
    }

    /// `iss` of every token: the configured issuer, or else the server's own URL.
    public var issuer: String { tokens.issuer ?? server.url }

    /// A configuration value that is wrong. The message names the key and never repeats a secret.
    public typealias InvalidValue = InvalidSetting

    /// The documented keys, as environment variables name them. Each area reads its own through a
    /// scoped reader; `ConfigurationTests` checks that the two lists agree.
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
        case ledgerOrigin = "QSPP_LEDGER_ORIGIN"
        case trustedLedgerKeys = "QSPP_LEDGER_TRUSTED_KEYS"
        case ledgerWitnesses = "QSPP_LEDGER_WITNESSES"
        case ledgerWitnessQuorum = "QSPP_LEDGER_WITNESS_QUORUM"
        case sessionRetention = "QSPP_RETENTION_SESSIONS_DAYS"
        case authEventRetention = "QSPP_RETENTION_AUTH_EVENTS_DAYS"
        case closedRequestRetention = "QSPP_RETENTION_CLOSED_REQUESTS_DAYS"
        case globalRateLimit = "QSPP_RATE_LIMIT_GLOBAL"
        case consentRateLimit = "QSPP_RATE_LIMIT_CONSENT"
        case costlyRateLimit = "QSPP_RATE_LIMIT_COSTLY"
        case corsOrigins = "QSPP_CORS_ORIGINS"
        case trustedProxies = "QSPP_TRUSTED_PROXIES"
        case metricsNetworks = "QSPP_METRICS_NETWORKS"
        case managementPort = "QSPP_MANAGEMENT_PORT"
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
        case smtpURL = "QSPP_SMTP_URL"
        case smtpCAFile = "QSPP_SMTP_CA_FILE"
        case smtpTimeout = "QSPP_SMTP_TIMEOUT"
        case mailFrom = "QSPP_MAIL_FROM"
        case mailFromName = "QSPP_MAIL_FROM_NAME"
        case mailDirectory = "QSPP_MAIL_DIRECTORY"
        case mailMaxAttempts = "QSPP_MAIL_MAX_ATTEMPTS"
        case unverifiedAccounts = "QSPP_UNVERIFIED_ACCOUNTS"
        case passkeyRelyingPartyID = "QSPP_PASSKEY_RP_ID"
        case passkeyOrigins = "QSPP_PASSKEY_ORIGINS"
        case oauthLogoutPrivateNetworks = "QSPP_OAUTH_LOGOUT_PRIVATE_NETWORKS"
        case oauthDynamicRegistration = "QSPP_OAUTH_DYNAMIC_REGISTRATION"
        case webhookPrivateNetworks = "QSPP_WEBHOOK_PRIVATE_NETWORKS"

        /// The same key in swift-configuration's dotted form, which the environment provider maps back
        /// to the upper-case name.
        var configKey: ConfigKey { ConfigKey(rawValue.lowercased().replacingOccurrences(of: "_", with: ".")) }

        var isSecret: Bool {
            [.masterKey, .previousMasterKeys, .databaseURL, .smtpURL].contains(self)
        }
    }
}

extension AppConfiguration {
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
