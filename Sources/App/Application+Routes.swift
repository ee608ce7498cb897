public import Hummingbird
public import Services

/// The router of one role: `all` has every route and the whole middleware chain. An upstream role has
/// its own routes, and leaves rate limits and CORS to the gateway in front of it.
public func buildRouter(configuration: AppConfiguration, services: QSPPServices) -> Router<AppRequestContext> {
    let role = configuration.gateway.role
    let router = Router(context: AppRequestContext.self)
    addMiddleware(to: router, configuration: configuration, services: services, role: role)
    router.addRoutes(systemController(configuration, services).endpoints)
    let parts: [ServerRole] = role == .all ? ServerRole.upstreams : [role]
    for part in parts { addRoutes(of: part, to: router, configuration: configuration, services: services) }
    if role == .all { router.addRoutes(pageController(services).endpoints) }
    return router
}

/// The gateway: the middleware every public request passes, the portal's pages and health checks of
/// its own, and every API route forwarded to the role that serves it. Its routes are read from the
/// upstream roles' own routers, so the two cannot drift apart.
func buildGatewayRouter(
    configuration: AppConfiguration, services: QSPPServices, forwarder: UpstreamForwarder
) -> Router<AppRequestContext> {
    let router = Router(context: AppRequestContext.self)
    let verifier = JWKSTokenVerifier(issuer: configuration.issuer, audience: configuration.tokens.audience) {
        try await forwarder.fetchJWKS()
    }
    addMiddleware(
        to: router, configuration: configuration, services: services, role: .gateway, gatewayTokens: verifier)
    router.addRoutes(systemController(configuration, services).endpoints)
    router.addRoutes(pageController(services).endpoints)
    let local = Set(router.routes.map { "\($0.method) \($0.path)" })
    for role in ServerRole.upstreams {
        let upstream = Router(context: AppRequestContext.self)
        addRoutes(of: role, to: upstream, configuration: configuration, services: services)
        for route in upstream.routes where !local.contains("\(route.method) \(route.path)") {
            let bodyLimit =
                route.method == .post
                ? largeBodies[route.path.description] ?? AppRequestContext.maximumBodySize
                : AppRequestContext.maximumBodySize
            router.on(route.path, method: route.method) { request, context in
                try await forwarder.forward(request, context: context, to: role, bodyLimit: bodyLimit)
            }
        }
    }
    return router
}

/// The routes whose bodies are documents, with their limits; every other body is a small JSON.
private let largeBodies = [
    RouterPath(ValuationController.taskRoute).description: ValuationController.taskBodyLimit,
    RouterPath(DownstreamController.answerRoute).description: DownstreamController.answerBodyLimit,
]

/// One chain for every role, outermost first. The public edge (`all` and `gateway`) adds CORS and the
/// quotas; the gateway knows callers only by the JWKS (`gatewayTokens`), every other role by its own
/// key ring and sessions.
private func addMiddleware(
    to router: Router<AppRequestContext>, configuration: AppConfiguration, services: QSPPServices, role: ServerRole,
    gatewayTokens: JWKSTokenVerifier? = nil
) {
    let metrics = services.metrics
    let edge = role == .all || role == .gateway
    router.addMiddleware {
        RequestObservationMiddleware(metrics: metrics)
        if configuration.observability.tracing { RequestTracingMiddleware() }
        ClientAddressMiddleware(resolver: ClientAddressResolver(trusted: configuration.server.trustedProxies))
        SecurityHeadersMiddleware(tls: configuration.server.tlsCertificateFile != nil)
        if edge { CORSMiddleware(origins: configuration.server.corsOrigins) }
        ProblemMiddleware()
        CanonicalPathMiddleware()
        APIVersionMiddleware()
        if edge { GlobalRateLimitMiddleware(configuration: configuration, counter: services.rateLimiter.count) }
        // Two optionals, not if/else: the builder's branches must be of one type.
        if let gatewayTokens { GatewayTokenMiddleware(verifier: gatewayTokens) }
        if gatewayTokens == nil { TokenAuthMiddleware(identity: services.identity) }
        if edge { RateLimitMiddleware(configuration: configuration, counter: services.rateLimiter.count) }
    }
}

/// Which controllers make up each upstream role.
private func addRoutes(
    of role: ServerRole, to router: Router<AppRequestContext>, configuration: AppConfiguration, services: QSPPServices
) {
    let consents = consentController(services)
    switch role {
    case .consent:
        router.addRoutes(PurposeController(service: services.consents).endpoints)
        router.addRoutes(consents.endpoints)
        router.addRoutes(LegacyConsentController(consents: consents, service: services.consents).endpoints)
        router.addRoutes(PrivacyController(services: services).endpoints)
        router.addRoutes(ProofController(services: services).endpoints)
        router.addRoutes(ExportController(services: services).endpoints)
        router.addRoutes(WebhookController(webhooks: services.webhooks).endpoints)
        router.addRoutes(DownstreamController(fanOut: services.fanOut).endpoints)
        // A visitor's decisions count against the per-user consent limit, keyed by the visitor.
        let visitorQuota = RateLimitMiddleware.Group(
            name: "visitor", scope: .user, limit: configuration.gateway.rateLimits.consentPerUser,
            counter: services.rateLimiter.count, matches: { _, _ in false })
        router.addRoutes(PropertyController(services: services, visitorQuota: visitorQuota).endpoints)
    case .auth:
        let auth = AuthController(services: services)
        router.addRoutes(WellKnownController(services: services).endpoints)
        router.addRoutes(auth.endpoints)
        router.addRoutes(PasskeyController(services: services, auth: auth).endpoints)
        router.addRoutes(MailedLinkController(services: services).endpoints)
        router.addRoutes(MailAdminController(services: services).endpoints)
        router.addRoutes(OAuthClientController(services: services).endpoints)
        router.addRoutes(OAuthController(services: services).endpoints)
        router.addRoutes(MeController(services: services).endpoints)
        router.addRoutes(UserAdminController(services: services).endpoints)
        router.addRoutes(LegacyPortalController(auth: auth, consents: consents, service: services.consents).endpoints)
    case .valuation:
        router.addRoutes(ValuationController(services: services).endpoints)
        router.addRoutes(LegacyValyzeController(priceBook: services.valuation.priceBook).endpoints)
    case .all, .gateway:
        break
    }
}

private func consentController(_ services: QSPPServices) -> ConsentController {
    ConsentController(
        service: services.consents, writing: services.consentWriting, privacy: services.privacy,
        checks: services.consentChecks)
}

private func pageController(_ services: QSPPServices) -> PageController {
    PageController(services: services)
}

/// The management listener's router (``ServerSettings/managementPort``): no middleware, since it serves
/// only probes and metrics, and its requests are not the public traffic the metrics count.
func buildManagementRouter(configuration: AppConfiguration, services: QSPPServices) -> Router<AppRequestContext> {
    let router = Router(context: AppRequestContext.self)
    router.addRoutes(systemController(configuration, services).managementEndpoints)
    return router
}

private func systemController(_ configuration: AppConfiguration, _ services: QSPPServices) -> SystemController {
    SystemController(
        service: services.consents, metrics: services.metrics, metricsNetworks: configuration.server.metricsNetworks)
}
