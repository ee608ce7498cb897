public import Hummingbird
public import Logging
import NIOSSL
public import Outbox
import ServiceLifecycle
public import Services
import Storage

extension QSPPServices {
    /// Opens the services with the settings `configuration` gives them.
    public static func open(
        _ configuration: AppConfiguration, logger: Logger, metrics: QSPPMetrics = QSPPMetrics()
    ) async throws -> QSPPServices {
        try await open(
            configuration.serviceSettings(), logger: logger, metrics: metrics,
            witnesses: configuration.receipts.witnesses.map(HTTPWitness.init(endpoint:)))
    }
}

/// Builds the whole application from its configuration. `qspp serve` and the tests both use this.
public func buildApplication(
    configuration: AppConfiguration, logger: Logger, metrics: QSPPMetrics = QSPPMetrics()
) async throws -> some ApplicationProtocol {
    try await buildApplication(
        configuration: configuration, services: QSPPServices.open(configuration, logger: logger, metrics: metrics),
        logger: logger)
}

/// `webhookTransport` stands in for the HTTP client that posts webhooks, for tests that record what is sent.
public func buildApplication(
    configuration: AppConfiguration, services: QSPPServices, logger: Logger,
    webhookTransport: (any WebhookTransport)? = nil
) async throws -> some ApplicationProtocol {
    let metrics = services.metrics
    let role = configuration.gateway.role
    var background: [any Service] = [services.store, services.housekeeping(logger: logger)]
    if role == .all || role == .consent {
        background.append(services.retentionJob(logger: logger))
        background.append(services.webhookDispatcher(logger: logger))
        background.append(services.requestFanOut(logger: logger))
        if let webhookTransport {
            background.append(services.webhookSender(logger: logger, transport: webhookTransport))
        } else {
            let transport = HTTPWebhookTransport(
                allowsPrivateNetworks: services.settings.webhooks.allowsPrivateNetworks)
            // Before the sender: services stop in reverse order, so the sender stops before its clients do.
            background.append(transport.post.clients)
            background.append(services.webhookSender(logger: logger, transport: transport))
        }
    }
    if role == .all || role == .valuation { background.append(services.valuationRunner(logger: logger)) }
    if role == .all || role == .auth {
        background.append(services.mailSender(logger: logger, transport: try configuration.mail.transport()))
        let transport = HTTPLogoutTransport(
            allowsPrivateNetworks: services.identity.configuration.logoutEndpointsMayBePrivate)
        background.append(transport.post.clients)
        background.append(services.backChannelLogoutSender(logger: logger, transport: transport))
    }
    let router: Router<AppRequestContext>
    if role == .gateway {
        let client = UpstreamClientService.makeClient()
        router = buildGatewayRouter(
            configuration: configuration, services: services,
            forwarder: UpstreamForwarder(client: client, upstreams: configuration.gateway.upstreams))
        // Listed after the store: services stop in reverse order, and the server (last of all) drains first.
        background.append(UpstreamClientService(client: client))
    } else {
        router = buildRouter(configuration: configuration, services: services)
    }
    if let port = configuration.server.managementPort {
        // Listed after the store, so it stops before the store does.
        background.append(
            Application(
                router: buildManagementRouter(configuration: configuration, services: services),
                configuration: .init(address: .hostname(configuration.server.host, port: port), serverName: nil),
                logger: logger))
    }
    let address = BindAddress.hostname(configuration.server.host, port: configuration.server.port)
    var app = Application(
        router: router,
        server: try HTTPServerSetup.make(configuration: configuration, metrics: metrics, logger: logger),
        configuration: .init(address: address, serverName: nil),
        services: background,
        logger: logger)
    app.beforeServerStarts {
        try await services.prepare(logger: logger)
        let removed = ExportArchive.removeLeftovers()
        if removed > 0 { logger.info("removed abandoned export archives", metadata: ["count": "\(removed)"]) }
    }
    return app
}
