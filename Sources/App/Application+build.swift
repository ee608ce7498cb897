public import Consent
public import Hummingbird
public import Identity
public import Logging
import NIOSSL
public import Privacy
import ServiceLifecycle
public import Storage
public import Valuation

/// The long-lived parts of QSPP, opened from the configuration. `serve`, the command-line tools and
/// the tests all build these the same way.
public struct AppServices: Sendable {
    public let store: any Store
    public let consents: ConsentService
    public let identity: IdentityService
    public let privacy: PrivacyService
    public let ledger: LedgerService
    public let restrictions: RestrictionRegistry
    public let valuation: ValuationService
    let receipts: ReceiptIssuer
    public let rateLimiter: RateLimiter
    public let configuration: AppConfiguration
    public let metrics: HTTPMetrics

    public static func open(
        _ configuration: AppConfiguration, logger: Logger, metrics: HTTPMetrics = HTTPMetrics()
    ) async throws -> AppServices {
        let masterKey = try configuration.resolveMasterKey()
        let store = try await openStore(configuration.databaseURL, logger: logger, masterKey: masterKey)
        let keyRing = SigningKeyRing(
            algorithm: configuration.tokenAlgorithm, repository: store.identity, masterKey: masterKey,
            retention: configuration.accessTokenLifetime + 5 * 60)
        let tokens = TokenAuthority(
            issuer: configuration.issuer, audience: configuration.tokenAudience,
            accessTokenLifetime: configuration.accessTokenLifetime, keyRing: keyRing)
        let identity = IdentityService(
            repository: store.identity, hasher: try PasswordHasher(parameters: configuration.argon2), tokens: tokens,
            masterKey: masterKey, observe: metrics.authEvent)
        let receipts = ReceiptIssuer(
            ring: keyRing, issuer: configuration.issuer,
            controller: .init(name: configuration.controllerName, contact: configuration.controllerContact),
            jurisdiction: configuration.jurisdiction)
        let consents = ConsentService(repository: store.consents)
        let restrictions = RestrictionRegistry(repository: store.privacy)
        let valuation = ValuationService(
            repository: store.valuation, priceBook: configuration.priceBook, limits: configuration.valuationLimits,
            parallelism: configuration.valuationThreads
        ) { subject in
            try await SubjectStanding(
                grantedPurposes: consents.grantedPurposes(of: subject), restricted: restrictions.isRestricted(subject))
        }
        return AppServices(
            store: store, consents: consents, identity: identity,
            privacy: PrivacyService(repository: store.privacy),
            ledger: LedgerService(
                repository: store.ledger, signer: RingCheckpointSigner(ring: keyRing, repository: store.identity),
                issuer: configuration.issuer),
            restrictions: restrictions, valuation: valuation, receipts: receipts,
            rateLimiter: RateLimiter(
                repository: store.identity, blindingKey: masterKey.derivedKey(for: "rate limit keys")),
            configuration: configuration, metrics: metrics)
    }

    /// Migrates (when configured) and loads the signing keys, creating the first one if needed.
    public func prepare(logger: Logger) async throws {
        if configuration.migrateOnStart {
            let applied = try await store.migrate()
            logger.info(
                "migrations applied", metadata: ["versions": .string(applied.map(String.init).joined(separator: ","))])
        }
        try await identity.loadSigningKeys()
        try await store.preparePersonalData()
    }

    /// Runs `body` with the store's service running (the PostgreSQL pool needs it), for one-shot commands.
    public func withRunningStore<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                try await store.run()
                return nil
            }
            defer { group.cancelAll() }
            return try await body()
        }
    }
}

/// Builds the whole application from its configuration. `qspp serve` and the tests both use this.
public func buildApplication(
    configuration: AppConfiguration, logger: Logger, metrics: HTTPMetrics = HTTPMetrics()
) async throws -> some ApplicationProtocol {
    try await buildApplication(
        services: AppServices.open(configuration, logger: logger, metrics: metrics), logger: logger)
}

public func buildApplication(services: AppServices, logger: Logger) async throws -> some ApplicationProtocol {
    let configuration = services.configuration
    let metrics = services.metrics
    let role = configuration.role
    var background: [any Service] = [services.store, Housekeeping(services: services, logger: logger)]
    if role == .all || role == .consent { background.append(RetentionService(services: services, logger: logger)) }
    if role == .all || role == .valuation {
        background.append(ValuationRunner(service: services.valuation, logger: logger))
    }
    let router: Router<AppRequestContext>
    if role == .gateway {
        let client = UpstreamClientService.makeClient()
        router = buildGatewayRouter(
            services: services, forwarder: UpstreamForwarder(client: client, upstreams: configuration.upstreams))
        // Listed after the store: services stop in reverse order, and the server (last of all) drains first.
        background.append(UpstreamClientService(client: client))
    } else {
        router = buildRouter(services: services, metrics: metrics, role: role)
    }
    let address = BindAddress.hostname(configuration.host, port: configuration.port)
    var app = Application(
        router: router,
        server: try HTTPServerSetup.make(configuration: configuration, metrics: metrics, logger: logger),
        configuration: .init(address: address, serverName: nil),
        services: background,
        logger: logger)
    app.beforeServerStarts { try await services.prepare(logger: logger) }
    return app
}

/// Applies pending migrations and returns their versions; the PostgreSQL pool runs only meanwhile.
public func runMigrations(configuration: AppConfiguration, logger: Logger) async throws -> [Int] {
    let store = try await openStore(configuration.databaseURL, logger: logger)
    return try await withThrowingTaskGroup(of: [Int]?.self) { group in
        group.addTask {
            try await store.run()
            return nil
        }
        defer { group.cancelAll() }
        return try await store.migrate()
    }
}

/// Once a minute, reloads the key ring, so a key rotated by `qspp keys rotate` (or on another replica)
/// signs here too, and counts overdue data-subject requests for `/metrics`; every ten minutes, purges
/// expired identity rows; every `QSPP_LEDGER_CHECKPOINT_MINUTES`, signs a checkpoint of the ledger.
struct Housekeeping: Service {
    let services: AppServices
    let logger: Logger
    var identity: IdentityService { services.identity }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            var minute = 0
            while !Task.isCancelled {
                do {
                    try await Task.sleep(for: .seconds(60))
                    minute += 1
                    try await identity.tokens.keyRing.load()
                    services.metrics.overdueRequests(try await services.privacy.overdueCount())
                    if minute % services.configuration.checkpointInterval == 0 {
                        try await services.ledger.checkpoint()
                    }
                    if minute % 10 == 0 {
                        let purged = try await identity.purgeExpired()
                        logger.debug("purged expired identity rows", metadata: ["rows": "\(purged)"])
                    }
                } catch is CancellationError {
                    return
                } catch {
                    // Only the error's type: its text could carry database details.
                    logger.warning("housekeeping failed", metadata: ["error": "\(type(of: error))"])
                }
            }
        }
    }
}
