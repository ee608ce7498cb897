import HTTPTypes
import Hummingbird

/// One spelling per route. The router ignores empty path segments, so `/v1//me/export/` reaches the
/// same handler as `/v1/me/export`; the quotas match on the path's text, so every other spelling would
/// be a fresh quota. A page or document fetched by another spelling is redirected to the canonical one;
/// any other request is refused, before anything counts or runs it.
struct CanonicalPathMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let path = request.uri.path
        guard let canonical = Self.canonical(path) else { return try await next(request, context) }
        guard request.method == .get || request.method == .head else {
            throw Problem(
                .notFound, "not-found", "Not found",
                detail: "no such resource; the path has an empty segment or a trailing slash: use \(canonical)")
        }
        let query = request.uri.query.map { "?" + $0 } ?? ""
        return Response(status: .permanentRedirect, headers: [.location: canonical + query])
    }

    /// The path without empty segments, or nil when it has none.
    static func canonical(_ path: String) -> String? {
        guard path != "/", path.utf8.firstRange(of: "//".utf8) != nil || path.hasSuffix("/") else { return nil }
        return "/" + path.split(separator: "/", omittingEmptySubsequences: true).joined(separator: "/")
    }
}
