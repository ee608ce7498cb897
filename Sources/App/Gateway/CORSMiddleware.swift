import HTTPTypes
import Hummingbird

/// Cross-origin access for the origins on `QSPP_CORS_ORIGINS` only. Listed origins may send
/// credentials; `*` on the list lets any other origin read public answers without credentials.
/// Preflights from an origin not allowed are refused with 403.
struct CORSMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let origins: Set<String>
    let anyOrigin: Bool

    static let propertyPaths = "/v1/properties/"
    static let methods: [HTTPRequest.Method] = [.get, .post, .patch, .delete]
    static let allowedHeaders: Set<String> = [
        "authorization", "content-type", "idempotency-key", "x-request-id", "sec-gpc",
    ]
    static let exposedHeaders =
        "X-Request-Id, Retry-After, RateLimit, RateLimit-Policy, Location, Idempotent-Replayed"

    init(origins: [String]) {
        self.origins = Set(origins.filter { $0 != "*" })
        anyOrigin = origins.contains("*")
    }

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        guard let origin = request.headers[.origin] else { return try await next(request, context) }
        // A consent property allows its own origins (`PropertyController`), preflights included. A limit
        // or an outage met before the property is known says nothing about it, and the page is let read
        // it, so the SDK can wait and retry.
        if request.uri.path.hasPrefix(Self.propertyPaths) {
            var response = try await next(request, context)
            let beforeProperty =
                response.status == .tooManyRequests || response.status == .contentTooLarge
                || response.status.kind == .serverError
            if beforeProperty, response.headers[.accessControlAllowOrigin] == nil {
                response.headers[.accessControlAllowOrigin] = origin
                response.headers[.accessControlExposeHeaders] = Self.exposedHeaders
                response.headers[.vary] = "Origin"
            }
            return response
        }
        let listed = origins.contains(origin)
        let allowed = listed || anyOrigin
        if request.method == .options, let method = request.headers[.accessControlRequestMethod] {
            guard allowed, Self.methods.contains(where: { $0.rawValue == method }) else {
                return try refusal("origin or method not allowed", request, context)
            }
            let requested = (request.headers[.accessControlRequestHeaders] ?? "").split(separator: ",")
                .map { $0.trimmingCharacters(in: .whitespaces).lowercased() }.filter { !$0.isEmpty }
            guard requested.allSatisfy(Self.allowedHeaders.contains) else {
                return try refusal("a requested header is not allowed", request, context)
            }
            var response = Response(status: .noContent)
            apply(to: &response.headers, origin: origin, listed: listed)
            response.headers[.accessControlAllowMethods] = Self.methods.map(\.rawValue).joined(separator: ", ")
            if !requested.isEmpty { response.headers[.accessControlAllowHeaders] = requested.joined(separator: ", ") }
            response.headers[.accessControlMaxAge] = "600"
            return response
        }
        var response = try await next(request, context)
        if allowed {
            apply(to: &response.headers, origin: origin, listed: listed)
            response.headers[.accessControlExposeHeaders] = Self.exposedHeaders
        } else {
            response.headers[.vary] = "Origin"
        }
        return response
    }

    /// Answered here, not thrown: this middleware sits outside the one that turns errors into problems,
    /// so that it can add its headers to every answer, errors included.
    private func refusal(_ detail: String, _ request: Request, _ context: Context) throws -> Response {
        var response = try Problem(.forbidden, "cors", "Cross-origin request refused", detail: detail)
            .response(from: request, context: context)
        response.headers[.vary] = "Origin"
        return response
    }

    private func apply(to headers: inout HTTPFields, origin: String, listed: Bool) {
        headers[.accessControlAllowOrigin] = listed ? origin : "*"
        if listed { headers[.accessControlAllowCredentials] = "true" }
        headers[.vary] = "Origin"
    }
}
