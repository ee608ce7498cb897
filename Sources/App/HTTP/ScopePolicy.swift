import HTTPTypes
import Identity

/// Which scope an OAuth client's token needs for each API route. It is one table, so that review sees
/// every route a client can reach: a route it does not list is closed to every client token (the
/// portal's and the first-party API's tokens are not limited by it). ``AppRequestContext/requireUser()``
/// applies it, so it guards exactly the routes that need a caller.
enum ScopePolicy {
    typealias Scope = OAuthClient.Scope

    /// What a client token needs to call a route: a scope, and for the `me` routes a person behind it.
    struct Requirement: Equatable {
        let scope: Scope
        let personOnly: Bool
    }

    /// What a client token needs for `method` on `path`, or nil when no client token may call it.
    static func requirement(for method: HTTPRequest.Method, path: String) -> Requirement? {
        let segments = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map(String.init)
        guard segments.first == "v1" else { return nil }
        let route = Array(segments.dropFirst())
        func matches(_ pattern: String) -> Bool {
            let parts = pattern.split(separator: "/").map(String.init)
            return parts.count == route.count && zip(parts, route).allSatisfy { $0 == "*" || $0 == $1 }
        }
        for rule in rules where rule.method == method && matches(rule.pattern) {
            return Requirement(scope: rule.scope, personOnly: rule.pattern.hasPrefix("me/"))
        }
        return nil
    }

    private static let rules: [(method: HTTPRequest.Method, pattern: String, scope: Scope)] = [
        (.get, "subjects/*/consents", .consentRead),
        (.get, "subjects/*/consents/history", .consentRead),
        (.get, "subjects/*/consents/*", .consentRead),
        (.get, "consent-checks", .consentRead),
        (.get, "consent-receipts/*", .consentRead),
        (.post, "subjects/*/consents", .consentWrite),
        (.post, "subjects/*/consents/batch", .consentWrite),
        (.post, "me/visitor-links", .consentWrite),
        (.get, "me/requests", .requestsManage),
        (.post, "me/requests", .requestsManage),
        (.post, "subjects/*/requests", .requestsManage),
        (.get, "requests", .requestsManage),
        (.get, "requests/*", .requestsManage),
        (.get, "requests/*/events", .requestsManage),
        (.post, "requests/*/transitions", .requestsManage),
        (.post, "requests/*/extension", .requestsManage),
        (.post, "requests/*/fulfilment", .requestsManage),
        (.get, "requests/*/tasks", .requestsManage),
        (.post, "requests/*/tasks/*/exception", .requestsManage),
        (.get, "me/valuation", .valuationRead),
        (.get, "admin/valuation/tasks", .valuationRead),
        (.get, "admin/valuation/tasks/*", .valuationRead),
        (.get, "admin/valuation/jobs", .valuationRead),
        (.get, "admin/valuation/jobs/*", .valuationRead),
        (.post, "purposes", .admin),
        (.patch, "purposes/*", .admin),
        (.post, "purposes/*/notices", .admin),
        (.get, "admin/ledger/verify", .admin),
        (.post, "admin/ledger/checkpoints", .admin),
        (.get, "users/*/sessions", .admin),
        (.get, "subjects/*/export", .admin),
        (.post, "requests/*/erasure", .admin),
        (.delete, "subjects/*/restriction", .admin),
    ]
}
