import AsyncHTTPClient
import Foundation
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
        guard let token = TokenAuthMiddleware.bearerToken(request.headers[.authorization]) else {
            return try await next(request, context)
        }
        var context = context
        context.verifiedSubject = try? await verifier.subject(of: token)
        return try await next(request, context)
    }
}

extension UpstreamForwarder {
    /// The auth role's public keys, for ``JWKSTokenVerifier``.
    func fetchJWKS() async throws -> Data {
        guard let auth = upstreams[.auth] else { throw Problem.internalError }
        let request = HTTPClientRequest(url: auth.baseURL + "/.well-known/jwks.json")
        let response = try await client.execute(request, timeout: .seconds(5))
        guard response.status == .ok else { throw Problem.badGateway(.auth) }
        return Data(buffer: try await response.body.collect(upTo: 1 << 20))
    }
}
