import HTTPTypes
import Hummingbird

/// Headers every answer carries, errors included: no sniffing, no framing, no referrer, no powerful
/// features, its own browsing context group, HSTS when TLS is on, and `no-store` on anything
/// answered to a request that carried credentials, unless the route chose its own caching.
struct SecurityHeadersMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let tls: Bool

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        var response = try await next(request, context)
        var headers = response.headers
        headers[.xContentTypeOptions] = "nosniff"
        headers[.xFrameOptions] = "DENY"
        if headers[.contentSecurityPolicy] == nil {
            headers[.contentSecurityPolicy] = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"
        }
        headers[.referrerPolicy] = "no-referrer"
        headers[.permissionsPolicy] =
            "accelerometer=(), camera=(), geolocation=(), gyroscope=(), microphone=(), payment=(), usb=()"
        headers[.crossOriginOpenerPolicy] = "same-origin"
        // Only what is made for other sites' pages (the consent SDK) chose to be loaded by them.
        if headers[.crossOriginResourcePolicy] == nil { headers[.crossOriginResourcePolicy] = "same-origin" }
        if tls { headers[.strictTransportSecurity] = "max-age=63072000; includeSubDomains" }
        // Public, versioned assets keep their own caching, and so do answers made to be kept by their
        // caller alone (consent checks, revalidated with their ETag); anything else answered to
        // credentials is not stored.
        let ownPolicy = headers[.cacheControl].map { $0.hasPrefix("public") || $0.hasPrefix("private") } ?? false
        if request.headers[.authorization] != nil || request.headers[.cookie] != nil, !ownPolicy {
            headers[.cacheControl] = "no-store"
        }
        response.headers = headers
        return response
    }
}

extension HTTPField.Name {
    static let referrerPolicy = Self("Referrer-Policy")!
    static let xFrameOptions = Self("X-Frame-Options")!
    static let permissionsPolicy = Self("Permissions-Policy")!
    static let crossOriginOpenerPolicy = Self("Cross-Origin-Opener-Policy")!
    static let crossOriginResourcePolicy = Self("Cross-Origin-Resource-Policy")!
}
