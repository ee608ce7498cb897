import App
import ArgumentParser
import Foundation
import Logging
import Metrics
import Prometheus
import ServiceLifecycle
import Services

@main
struct QSPP: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "qspp",
        abstract: "QSPP, the Quantum-Safe Privacy Portal.",
        subcommands: [
            Serve.self, Migrate.self, Keys.self, Users.self, Ledger.self, Receipt.self, Export.self, DevCert.self,
            Speed.self, ValuationCommand.self, MailCommand.self,
        ],
        defaultSubcommand: Serve.self)
}

/// Options every subcommand shares: each maps to one documented configuration key.
struct ConfigurationOptions: ParsableArguments {
    @Option(help: "Address to listen on (QSPP_HOST, default 127.0.0.1).") var host: String?
    @Option(help: "Port to listen on (QSPP_PORT, default 8080).") var port: String?
    @Option(name: .customLong("database-url"), help: "sqlite:PATH or postgres://... (QSPP_DATABASE_URL).")
    var databaseURL: String?
    @Option(
        name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical (QSPP_LOG_LEVEL)."
    )
    var logLevel: String?
    @Option(name: .customLong("config"), help: "A file of KEY=value lines with the same keys (QSPP_CONFIG_FILE).")
    var configFile: String?

    func load(extra: [AppConfiguration.Key: String] = [:]) async throws -> AppConfiguration {
        var overrides = extra
        overrides[.host] = host
        overrides[.port] = port
        overrides[.databaseURL] = databaseURL
        overrides[.logLevel] = logLevel
        let environment = ProcessInfo.processInfo.environment
        do {
            return try await AppConfiguration.load(
                overrides: overrides, environment: environment,
                configFile: configFile ?? environment["QSPP_CONFIG_FILE"].flatMap { $0.isEmpty ? nil : $0 })
        } catch let error as AppConfiguration.InvalidValue {
            throw ValidationError("invalid configuration: \(error)")
        } catch let error as AppConfiguration.ConfigFileError {
            throw ValidationError("invalid configuration: \(error)")
        }
    }
}

func makeLogger(_ configuration: AppConfiguration) -> Logger {
    let level = configuration.observability.logLevel
    LoggingSystem.bootstrap { label in JSONLogHandler(label: label, level: level) }
    var logger = Logger(label: "qspp")
    logger.logLevel = level
    return logger
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the portal until SIGTERM or SIGINT.")

    @OptionGroup var options: ConfigurationOptions
    @Flag(name: .customLong("no-migrate"), help: "Do not apply migrations at start (QSPP_MIGRATE_ON_START=false).")
    var noMigrate = false
    @Option(help: "all, gateway, consent, auth or valuation (QSPP_ROLE, default all).") var role: String?

    func run() async throws {
        var extra: [AppConfiguration.Key: String] = noMigrate ? [.migrateOnStart: "false"] : [:]
        extra[.role] = role
        let configuration = try await options.load(extra: extra)
        let logger = makeLogger(configuration)
        let metrics = QSPPMetrics()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: metrics.registry))
        logger.info(
            "starting",
            metadata: [
                "address": "\(configuration.server.host):\(configuration.server.port)",
                "role": "\(configuration.gateway.role)",
                "database": "\(configuration.store.databaseURL)",
                "mail": "\(configuration.mail.destination)",
            ])
        let tracing = try TracingSetup.start(configuration)
        let app = try await buildApplication(configuration: configuration, logger: logger, metrics: metrics)
        // The exporter is listed first so that it stops last, after the server's final spans.
        try await ServiceGroup(
            configuration: .init(
                services: (tracing.map { [$0] } ?? []) + [app], gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger)
        ).run()
    }
}

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Apply pending schema migrations and exit.")

    @OptionGroup var options: ConfigurationOptions

    @Option(
        name: .customLong("app-role"),
        help: """
            PostgreSQL: then let this role, which `serve` connects as, read and write the working tables and only \
            read and append the append-only ones. Run as the owner.
            """)
    var applicationRole: String?

    func run() async throws {
        let configuration = try await options.load()
        let logger = makeLogger(configuration)
        let applied = try await runMigrations(
            databaseURL: configuration.store.databaseURL, grantingTo: applicationRole, logger: logger)
        logger.info(
            "migrations done",
            metadata: ["applied": .string(applied.isEmpty ? "none" : applied.map(String.init).joined(separator: ","))])
    }
}
