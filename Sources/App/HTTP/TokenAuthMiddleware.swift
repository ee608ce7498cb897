import Hummingbird
import Identity

/// Recognises a bearer access token. It only identifies the caller; each route decides what the caller
/// may do, so a route without a check is visible in review. A token that is present but not valid
/// never counts as anyone: routes that need a caller answer 401 with the reason, and public routes
/// (health checks, the JWKS, the purpose catalog) answer as they would without it.
struct TokenAuthMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let identity: IdentityService

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        guard let authorization = request.headers[.authorization] else { return try await next(request, context) }
        var context = context
        if let token = Self.bearerToken(authorization) {
            do {
                context.principal = try await identity.authenticate(accessToken: token)
                context.scopeRequirement = ScopePolicy.requirement(for: request.method, path: request.uri.path)
            } catch let error as IdentityError {
                context.authenticationFailure = .invalidToken(error.description)
            } catch {
                // The session could not be checked (the database is down): routes that need a caller
                // answer that outage; public ones, such as /health, are unaffected.
                context.authenticationFailure = Problem.from(error) ?? .unavailable
            }
        } else {
            context.authenticationFailure = .invalidToken("the Authorization header must be 'Bearer <token>'")
        }
        return try await next(request, context)
    }

    /// The token of an `Authorization: Bearer` header. The scheme name is case-insensitive (RFC 9110
    /// §11.1). Bytes, not characters: counting the characters of a 5 KB token cost 4% of a consent
    /// write's CPU.
    static func bearerToken(_ authorization: String?) -> String? {
        guard let bytes = authorization?.utf8, bytes.count > 7,
            bytes.prefix(7).map({ (0x41...0x5A).contains($0) ? $0 | 0x20 : $0 }).elementsEqual("bearer ".utf8)
        else { return nil }
        return String(decoding: bytes.dropFirst(7), as: UTF8.self)
    }
}
