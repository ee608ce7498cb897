import Hummingbird
import Identity

/// Recognises a bearer access token. It only identifies the caller; each route decides what the caller
/// may do, so a route without a check is visible in review. A token that is present but not valid is
/// refused outright rather than treated as anonymous.
struct TokenAuthMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let identity: IdentityService

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        guard let authorization = request.headers[.authorization] else { return try await next(request, context) }
        // The scheme name is case-insensitive (RFC 9110 §11.1).
        guard authorization.count > 7, authorization.prefix(7).lowercased() == "bearer " else {
            throw Problem.unauthenticated
        }
        var context = context
        do {
            context.principal = try await identity.authenticate(accessToken: String(authorization.dropFirst(7)))
        } catch let error as IdentityError {
            throw Problem.invalidToken(error.description)
        }
        return try await next(request, context)
    }
}
