import Crypto
import Hummingbird

/// Recognises the static admin token. It only identifies the caller; each route decides what the
/// caller may do, so a route without a check is visible in review.
struct AdminAuthMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    /// A digest, so the comparison takes the same time whatever the presented token's length.
    private let tokenDigest: SHA256.Digest?

    init(adminToken: String?) {
        self.tokenDigest = adminToken.map { SHA256.hash(data: Array($0.utf8)) }
    }

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws
        -> Response
    {
        guard let authorization = request.headers[.authorization] else { return try await next(request, context) }
        // The scheme name is case-insensitive (RFC 9110 §11.1).
        guard let tokenDigest, authorization.lowercased().hasPrefix("bearer ") else { throw Problem.unauthenticated }
        let presented = SHA256.hash(data: Array(authorization.utf8.dropFirst("bearer ".utf8.count)))
        // swift-crypto's digest equality is constant-time.
        guard presented == tokenDigest else { throw Problem.unauthenticated }
        var context = context
        context.principal = .admin
        return try await next(request, context)
    }
}
