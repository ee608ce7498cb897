import Foundation
import HTTPTypes
import Hummingbird

/// The gateway's rate limits per route group: a per-minute quota per client address (logins) or per
/// authenticated user (everything else), with limits from configuration; ``GlobalRateLimitMiddleware``
/// adds one per address for every request. Over a limit the answer is 429 with `Retry-After` and the IETF httpapi
/// draft's `RateLimit-Policy` and `RateLimit` headers; answers within a group's limit carry those
/// headers too, so clients can pace themselves. The quotas are counted in the database
/// (``SharedQuota``), so a limit holds however many replicas share the load.
struct RateLimitMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    enum Scope: String { case address, user }

    struct Group: Sendable {
        let name: String
        let scope: Scope
        let quota: SharedQuota
        let matches: @Sendable (HTTPRequest.Method, String) -> Bool

        var policy: String { "\"\(name)\";q=\(quota.limit);w=\(quota.window)" }

        init(
            name: String, scope: Scope, limit: Int, counter: @escaping SharedQuota.Counter,
            matches: @escaping @Sendable (HTTPRequest.Method, String) -> Bool
        ) {
            self.name = name
            self.scope = scope
            self.matches = matches
            quota = SharedQuota(limit: limit) { key, windowStart, hits in
                try await counter("gateway:\(name):\(key)", windowStart, hits)
            }
        }
    }

    let groups: [Group]

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let address = context.clientAddress
        let path = request.uri.path
        guard let group = groups.first(where: { $0.matches(request.method, path) }) else {
            return try await next(request, context)
        }
        // Per-user groups count anonymous callers by address.
        let key = group.scope == .user ? context.rateLimitSubject.map { "u:" + $0 } ?? "a:" + address : address
        let decision = await group.quota.take(key)
        guard decision.allowed else { throw Self.refusal(group, decision) }
        var response = try await next(request, context)
        response.headers[.rateLimitPolicy] = group.policy
        response.headers[.rateLimit] = "\"\(group.name)\";r=\(decision.remaining);t=\(decision.reset)"
        return response
    }

    static func refusal(_ group: Group, _ decision: SharedQuota.Decision) -> Problem {
        var problem = Problem(
            .tooManyRequests, "too-many-requests", "Too many requests",
            detail:
                "the \(group.name) limit is \(group.quota.limit) per \(group.quota.window) s per \(group.scope.rawValue)"
        )
        problem.headers[.retryAfter] = String(decision.retryAfter)
        problem.headers[.rateLimitPolicy] = group.policy
        problem.headers[.rateLimit] = "\"\(group.name)\";r=0;t=\(decision.retryAfter)"
        return problem
    }
}

/// The per-address limit on every request, before anything costly (token verification included).
struct GlobalRateLimitMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let global: RateLimitMiddleware.Group

    init(configuration: AppConfiguration, counter: @escaping SharedQuota.Counter) {
        global = .init(
            name: "global", scope: .address, limit: configuration.gateway.rateLimits.globalPerAddress, counter: counter,
            matches: { _, _ in true })
    }

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let decision = await global.quota.take(context.clientAddress)
        guard decision.allowed else { throw RateLimitMiddleware.refusal(global, decision) }
        return try await next(request, context)
    }
}

extension RateLimitMiddleware {
    /// The groups the configuration defines, in the order they are matched.
    init(configuration: AppConfiguration, counter: @escaping SharedQuota.Counter) {
        let limits = configuration.gateway.rateLimits
        let loginLimit = configuration.signIn.loginRateLimit
        func group(
            _ name: String, _ scope: Scope, _ limit: Int,
            _ matches: @escaping @Sendable (HTTPRequest.Method, String) -> Bool
        ) -> Group {
            Group(name: name, scope: scope, limit: limit, counter: counter, matches: matches)
        }
        groups = [
            group("login", .address, loginLimit) { method, path in
                method == .post
                    && (path == "/v1/auth/login" || path == "/v1/auth/mfa" || path == "/portal/auth/login"
                        || path == "/login" || path == "/login/mfa")
            },
            group("consent", .user, limits.consentPerUser) { _, path in
                // `utf8.firstRange`, not Foundation's `contains`, which goes through CFString on Linux.
                path.hasPrefix("/v1/subjects/") && path.utf8.firstRange(of: "/consents".utf8) != nil
                    || path.hasPrefix("/consent")
                    || path.hasPrefix("/portal/consent") || path == "/my/consent"
            },
            // A website's visitors: each new visit, each decision, and each read or erasure of a history,
            // per address, before any token is checked (a script can start as many visits as it likes;
            // the per-visitor limit cannot hold it alone).
            group("visitors", .address, limits.consentPerUser) { method, path in
                path.hasPrefix("/v1/properties/") && (method == .post || path.hasSuffix("/visitors/me"))
            },
            // Routes that cost real work per call: signing, archives, valuation.
            group("costly", .user, limits.costlyPerUser) { _, path in
                path.hasPrefix("/v1/consent-receipts/") || path.hasSuffix("/export") || path.hasPrefix("/valyze/")
                    || path.hasPrefix("/v1/properties/") && path.utf8.firstRange(of: "/receipts/".utf8) != nil
                    || path == "/v1/me/valuation" || path.hasPrefix("/v1/admin/ledger/")
                    || path == "/v1/me/visitor-links"
                    || path.hasPrefix("/my/receipts/")
                    || path == "/my/value" || path.hasPrefix("/admin/ledger/")
            },
        ]
    }
}

extension HTTPField.Name {
    static let rateLimit = Self("RateLimit")!
    static let rateLimitPolicy = Self("RateLimit-Policy")!
}
