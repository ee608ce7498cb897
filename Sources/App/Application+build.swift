public import Consent
public import Hummingbird
public import Logging
public import Storage

/// Builds the whole application from its configuration. `qspp serve` and the tests both use this.
public func buildApplication(
    configuration: AppConfiguration, logger: Logger, metrics: HTTPMetrics = HTTPMetrics()
) async throws -> some ApplicationProtocol {
    let store = try await openStore(configuration.databaseURL, logger: logger)
    if configuration.adminToken == nil {
        logger.warning("QSPP_ADMIN_TOKEN is not set: every route that needs the admin token answers 401")
    }
    let service = ConsentService(repository: store.consents)
    let router = buildRouter(service: service, metrics: metrics, adminToken: configuration.adminToken)
    var app = Application(
        router: router,
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: nil),
        services: [store],
        logger: logger)
    if configuration.migrateOnStart {
        app.beforeServerStarts {
            let applied = try await store.migrate()
            logger.info(
                "migrations applied", metadata: ["versions": .string(applied.map(String.init).joined(separator: ","))])
        }
    }
    return app
}

/// The router with every route and middleware; separate so tests can drive it without a store service.
public func buildRouter(
    service: ConsentService, metrics: HTTPMetrics, adminToken: String?
) -> Router<AppRequestContext> {
    let router = Router(context: AppRequestContext.self)
    router.addMiddleware {
        RequestObservationMiddleware(metrics: metrics)
        ProblemMiddleware()
        AdminAuthMiddleware(adminToken: adminToken)
    }
    let consents = ConsentController(service: service, metrics: metrics)
    router.addRoutes(SystemController(service: service, metrics: metrics).endpoints)
    router.addRoutes(PurposeController(service: service).endpoints)
    router.addRoutes(consents.endpoints)
    router.addRoutes(LegacyConsentController(consents: consents, service: service).endpoints)
    return router
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
