import Hummingbird

/// The gateway's reading of a bearer token: its subject, when the token verifies against the auth
/// role's JWKS, so per-user rate limits count real users and a forged token counts by address. It
/// never authorises anything: the upstream that serves the route checks the token again, session
/// and all, and answers for it.
struct GatewayTokenMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let verifier: JWKSTokenVerifier

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        guard let token = TokenAuthMiddleware.presentedToken(request.headers[.authorization])?.token else {
            return try await next(request, context)
        }
        var context = context
        context.verifiedSubject = try? await verifier.subject(of: token)
        return try await next(request, context)
    }
}
