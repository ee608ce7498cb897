public import Configuration
public import Logging
public import Storage

/// Everything `qspp serve` needs, read once at start and validated.
///
/// Sources, highest precedence first: `serve` flags, environment variables, the optional config
/// file (`KEY=value` lines with the same names as the environment variables), then defaults.
public struct AppConfiguration: Sendable {
    public var host: String
    public var port: Int
    public var databaseURL: DatabaseURL
    public var logLevel: Logger.Level
    /// Static bearer token for the admin API until real identities exist. `nil` disables admin routes.
    public var adminToken: String?
    public var migrateOnStart: Bool

    public static let minimumAdminTokenLength = 32

    public init(
        host: String = "127.0.0.1", port: Int = 8080, databaseURL: DatabaseURL = .sqlite(path: "./data/qspp.sqlite"),
        logLevel: Logger.Level = .info, adminToken: String? = nil, migrateOnStart: Bool = true
    ) {
        self.host = host
        self.port = port
        self.databaseURL = databaseURL
        self.logLevel = logLevel
        self.adminToken = adminToken
        self.migrateOnStart = migrateOnStart
    }

    /// The documented keys, as environment variables name them.
    public enum Key: String, CaseIterable, Sendable {
        case host = "QSPP_HOST"
        case port = "QSPP_PORT"
        case databaseURL = "QSPP_DATABASE_URL"
        case logLevel = "QSPP_LOG_LEVEL"
        case adminToken = "QSPP_ADMIN_TOKEN"
        case migrateOnStart = "QSPP_MIGRATE_ON_START"

        /// The same key in swift-configuration's dotted form, which the environment provider maps back
        /// to the upper-case name.
        var configKey: ConfigKey { ConfigKey(rawValue.lowercased().replacingOccurrences(of: "_", with: ".")) }

        var isSecret: Bool { self == .adminToken || self == .databaseURL }
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
        if let token = value(.adminToken) {
            guard token.utf8.count >= Self.minimumAdminTokenLength, token.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F })
            else {
                throw InvalidValue(
                    key: .adminToken,
                    reason: "must be at least \(Self.minimumAdminTokenLength) printable ASCII characters without spaces"
                )
            }
            self.adminToken = token
        }
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
