import Hummingbird
import Identity

/// Recognises an access token: `Bearer`, or `DPoP` with its proof (RFC 9449 §7). It only identifies the
/// caller; each route decides what the caller may do, so a route without a check is visible in review.
/// A token that is present but not valid never counts as anyone: routes that need a caller answer 401
/// with the reason, and public routes (health checks, the JWKS, the purpose catalog) answer as they
/// would without it.
struct TokenAuthMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let identity: IdentityService

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        guard let authorization = request.headers[.authorization] else { return try await next(request, context) }
        var context = context
        if let presented = Self.presentedToken(authorization) {
            do {
                let principal = try await identity.authenticate(accessToken: presented.token)
                try await checkBinding(of: principal, presented, request)
                context.principal = principal
                context.scopeRequirement = ScopePolicy.requirement(for: request.method, path: request.uri.path)
            } catch let error as IdentityError {
                context.authenticationFailure = .invalidToken(error.description)
            } catch let error as OAuthError {
                context.authenticationFailure = .invalidDPoPProof(error.detail)
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

    /// A token bound to a DPoP key is good only with a fresh proof by that key, for this request and this
    /// token; a token bound to none is a bearer token.
    private func checkBinding(
        of principal: AuthenticatedUser, _ presented: (token: String, dpop: Bool), _ request: Request
    ) async throws {
        guard presented.dpop else {
            if principal.boundKey != nil {
                throw OAuthError(.invalidDPoPProof, "the token is DPoP-bound: send it as 'DPoP <token>' with a proof")
            }
            return
        }
        let proofs = request.headers[values: .dpop]
        guard proofs.count == 1 else { throw OAuthError(.invalidDPoPProof, "send one DPoP proof") }
        let key = try await identity.checkDPoP(
            proofs[0], method: request.method.rawValue, url: identity.tokens.url(of: request.uri.path),
            accessToken: presented.token, requiringNonce: false)
        guard let bound = principal.boundKey, bound == key else {
            throw OAuthError(.invalidDPoPProof, "the proof's key is not the one the token is bound to")
        }
    }

    /// The token of an `Authorization: Bearer` or `Authorization: DPoP` header. Scheme names are
    /// case-insensitive (RFC 9110 §11.1). Bytes, not characters: counting the characters of a 5 KB token
    /// cost 4% of a consent write's CPU.
    static func presentedToken(_ authorization: String?) -> (token: String, dpop: Bool)? {
        guard let bytes = authorization?.utf8 else { return nil }
        func after(_ scheme: String) -> String? {
            let prefix = scheme.utf8.count
            guard bytes.count > prefix,
                bytes.prefix(prefix).map({ (0x41...0x5A).contains($0) ? $0 | 0x20 : $0 }).elementsEqual(scheme.utf8)
            else { return nil }
            return String(decoding: bytes.dropFirst(prefix), as: UTF8.self)
        }
        if let token = after("bearer ") { return (token, false) }
        if let token = after("dpop ") { return (token, true) }
        return nil
    }
}
