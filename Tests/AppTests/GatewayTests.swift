import Foundation
import HTTPTypes
import HummingbirdTesting
import QSPPTestSupport
import Synchronization
import Testing

@testable import App

@Suite("Gateway: rate limits, security headers, CORS, API versions")
struct GatewayTests {
    @Test("every answer carries the security headers; answers to credentialed requests are not stored")
    func securityHeaders() async throws {
        try await withApp(.sqlite) { api in
            for response in [
                try await api.send(.get, "/health", token: nil), try await api.send(.get, "/nowhere", token: nil),
                try await api.send(.get, "/v1/me"),
            ] {
                #expect(response.headers[.xContentTypeOptions] == "nosniff")
                #expect(response.headers[.xFrameOptions] == "DENY")
                #expect(response.headers[.contentSecurityPolicy]?.contains("frame-ancestors 'none'") == true)
                #expect(response.headers[.referrerPolicy] == "no-referrer")
                #expect(response.headers[.permissionsPolicy]?.contains("camera=()") == true)
                #expect(response.headers[.crossOriginOpenerPolicy] == "same-origin")
                // No TLS in this test, so no HSTS (it would be ignored over plain HTTP anyway).
                #expect(response.headers[.strictTransportSecurity] == nil)
            }
            #expect(try await api.send(.get, "/v1/me").headers[.cacheControl] == "no-store")
            #expect(try await api.send(.get, "/health", token: nil).headers[.cacheControl] != "no-store")
        }
    }

    @Test("over the per-address limit: 429 with Retry-After and the RateLimit headers")
    func perAddressLimit() async throws {
        try await withApp(.sqlite, configure: { $0.gateway.rateLimits.globalPerAddress = 5 }) { api in
            try await awayFromRateWindowEdge()
            for _ in 0..<5 { #expect(try await api.send(.get, "/health", token: nil).status == .ok) }
            let refused = try await api.send(.get, "/health", token: nil)
            try refused.expectProblem(.tooManyRequests)
            #expect(Int(refused.headers[.retryAfter] ?? "") ?? 0 >= 1)
            #expect(refused.headers[.rateLimitPolicy] == #""global";q=5;w=60"#)
            #expect(refused.headers[.rateLimit]?.hasPrefix(#""global";r=0;t="#) == true)
        }
    }

    @Test("consent calls are limited per user: one user's burst does not limit another")
    func perUserConsentLimit() async throws {
        try await withApp(.sqlite, configure: { $0.gateway.rateLimits.consentPerUser = 3 }) { api in
            let alice = try await api.newUser(confirmed: true)
            let bob = try await api.newUser()
            try await awayFromRateWindowEdge()
            func decide(_ user: TestUser) async throws -> TestResponse {
                try await api.send(
                    .post, "/v1/subjects/\(user.id)/consents", json: #"{"purpose":"marketing","decision":"granted"}"#,
                    token: user.accessToken)
            }
            for remaining in [2, 1, 0] {
                let response = try await decide(alice)
                #expect(response.status == .created)
                #expect(response.headers[.rateLimitPolicy] == #""consent";q=3;w=60"#)
                #expect(response.headers[.rateLimit]?.hasPrefix(#""consent";r=\#(remaining);"#) == true)
            }
            try await decide(alice).expectProblem(.tooManyRequests)
            #expect(try await decide(bob).status == .created)
            // Other routes are not in the consent group.
            #expect(try await api.send(.get, "/v1/me", token: alice.accessToken).status == .ok)
        }
    }

    @Test("logins are limited per address")
    func loginLimit() async throws {
        try await withApp(.sqlite, configure: { $0.signIn.loginRateLimit = 2 }) { api in
            try await awayFromRateWindowEdge()
            let user = try await api.newUser()  // one login
            #expect(try await api.login(user.email).status == .ok)
            let refused = try await api.login(user.email)
            try refused.expectProblem(.tooManyRequests)
            #expect(refused.headers[.rateLimitPolicy] == #""login";q=2;w=60"#)
        }
    }

    @Test("replicas sharing one counter admit exactly the limit per window, and memory stays capped")
    func sharedQuotaHoldsAcrossReplicas() async throws {
        let now = Mutex(600.0)
        let counts = Mutex([String: Int]())
        let calls = Mutex(0)
        let counter: SharedQuota.Counter = { key, windowStart, hits in
            calls.withLock { $0 += 1 }
            return counts.withLock { counts in
                counts["\(key)@\(windowStart)", default: 0] += hits
                return counts["\(key)@\(windowStart)"]!
            }
        }
        let replicas = (0..<3).map { _ in
            SharedQuota(limit: 40, window: 60, maximumKeys: 1_000, counter: counter) { now.withLock { $0 } }
        }
        #expect(replicas[0].block == 2)
        var admitted = 0
        for request in 0..<120 where await replicas[request % 3].take("a").allowed { admitted += 1 }
        // Leases never overshoot; unspent ones (at most the largest lease per replica) are the only shortfall.
        #expect((40 - 3 * 2)...40 ~= admitted)
        #expect(calls.withLock { $0 } < 40, "leases grow, so the database is not asked per request")
        // Once a replica has heard that the window is spent, it stops asking.
        let asked = calls.withLock { $0 }
        for request in 0..<150 { #expect(await !replicas[request % 3].take("a").allowed) }
        #expect(calls.withLock { $0 } <= asked + 3)
        let refused = await replicas[1].take("a")
        #expect(!refused.allowed && refused.retryAfter == 60)
        now.withLock { $0 = 660 }
        #expect(await replicas[2].take("a").allowed)
        for key in 0..<5_000 { _ = await replicas[0].take("attacker-\(key)") }
        #expect(replicas[0].count <= 1_000)
    }

    @Test("CORS: listed origins get credentials; others get nothing; preflights are answered or refused")
    func cors() async throws {
        try await withApp(
            .sqlite, configure: { $0.server.corsOrigins = ["https://app.example.com"] }
        ) { api in
            let preflight = try await api.send(
                .options, "/v1/me", token: nil,
                headers: [
                    .origin: "https://app.example.com", .accessControlRequestMethod: "GET",
                    .accessControlRequestHeaders: "Authorization, Content-Type",
                ])
            #expect(preflight.status == .noContent)
            #expect(preflight.headers[.accessControlAllowOrigin] == "https://app.example.com")
            #expect(preflight.headers[.accessControlAllowCredentials] == "true")
            #expect(preflight.headers[.accessControlAllowMethods]?.contains("PATCH") == true)
            #expect(preflight.headers[.accessControlAllowHeaders] == "authorization, content-type")
            #expect(preflight.headers[.vary] == "Origin")

            try await api.send(
                .options, "/v1/me", token: nil,
                headers: [.origin: "https://evil.example", .accessControlRequestMethod: "GET"]
            ).expectProblem(.forbidden)
            try await api.send(
                .options, "/v1/me", token: nil,
                headers: [
                    .origin: "https://app.example.com", .accessControlRequestMethod: "GET",
                    .accessControlRequestHeaders: "X-Secret-Header",
                ]
            ).expectProblem(.forbidden)

            let listed = try await api.send(.get, "/v1/me", headers: [.origin: "https://app.example.com"])
            #expect(listed.headers[.accessControlAllowOrigin] == "https://app.example.com")
            #expect(listed.headers[.accessControlExposeHeaders]?.contains("X-Request-Id") == true)
            let error = try await api.send(.get, "/v1/me", token: nil, headers: [.origin: "https://app.example.com"])
            #expect(error.status == .unauthorized)
            #expect(error.headers[.accessControlAllowOrigin] == "https://app.example.com")
            let other = try await api.send(.get, "/v1/me", headers: [.origin: "https://evil.example"])
            #expect(other.headers[.accessControlAllowOrigin] == nil)
            #expect(other.headers[.accessControlAllowCredentials] == nil)
        }
        try await withApp(.sqlite, configure: { $0.server.corsOrigins = ["*"] }) { api in
            let any = try await api.send(.get, "/v1/purposes", token: nil, headers: [.origin: "https://any.example"])
            #expect(any.headers[.accessControlAllowOrigin] == "*")
            #expect(any.headers[.accessControlAllowCredentials] == nil)
        }
    }

    @Test("behind trusted proxies the client is the nearest untrusted forwarded address; otherwise the peer")
    func forwardedAddresses() {
        let resolver = ClientAddressResolver(trusted: ["10.0.0.0/8", "::1"].compactMap(IPNetwork.init))
        #expect(resolver.resolve(peer: "10.1.2.3", forwardedFor: "203.0.113.5") == "203.0.113.5")
        // A client's own claim on the left is not believed; the proxy's view on the right is.
        #expect(resolver.resolve(peer: "10.1.2.3", forwardedFor: "198.51.100.1, 203.0.113.5") == "203.0.113.5")
        #expect(resolver.resolve(peer: "10.1.2.3", forwardedFor: "203.0.113.5, 10.9.9.9") == "203.0.113.5")
        #expect(resolver.resolve(peer: "::1", forwardedFor: "2001:db8::7") == "2001:db8::7")
        #expect(resolver.resolve(peer: "10.1.2.3", forwardedFor: "10.2.2.2, 10.3.3.3") == "10.2.2.2")
        #expect(resolver.resolve(peer: "10.1.2.3", forwardedFor: "203.0.113.5, not-an-address") == "10.1.2.3")
        // Not from a trusted proxy: the header is the client's own word, and ignored.
        #expect(resolver.resolve(peer: "203.0.113.9", forwardedFor: "198.51.100.1") == "203.0.113.9")
        #expect(resolver.resolve(peer: "::ffff:10.0.0.1", forwardedFor: "192.0.2.1") == "192.0.2.1")
        #expect(IPNetwork("10.0.0.0/33") == nil && IPNetwork("proxy") == nil)
    }

    @Test("per-address limits count each forwarded client separately, over a real connection")
    func forwardedClientsAreLimitedApart() async throws {
        try await withApp(
            .sqlite,
            configure: {
                $0.gateway.rateLimits.globalPerAddress = 2
                $0.server.trustedProxies = [IPNetwork("127.0.0.1")!, IPNetwork("::1")!]
                $0.server.port = 0
            },
            testing: .live
        ) { api in
            var statuses: [HTTPResponse.Status] = []
            for forwarded in ["203.0.113.5", "198.51.100.1, 203.0.113.5", "203.0.113.5", "203.0.113.6"] {
                statuses.append(
                    try await api.send(.get, "/health", token: nil, headers: [.xForwardedFor: forwarded]).status)
            }
            // The second request is the same client (the left entry is its own claim); the fourth another.
            #expect(statuses == [.ok, .ok, .tooManyRequests, .ok])
        }
    }

    @Test("an unknown API version gets a 404 problem that names the version served")
    func unknownVersion() async throws {
        try await withApp(.sqlite) { api in
            let response = try await api.send(.get, "/v2/purposes", token: nil)
            let detail = try response.expectProblem(.notFound)
            #expect(detail.contains("/v1"))
            #expect(try response.object()["type"] as? String == "urn:qspp:problem:unknown-api-version")
            #expect(try await api.send(.get, "/v1/purposes", token: nil).status == .ok)
            #expect(try await api.send(.get, "/v10", token: nil).status == .notFound)
        }
    }

    @Test("another spelling of a path is no way around a quota: writes are refused, reads redirected")
    func nonCanonicalPathsDoNotEscapeTheQuotas() async throws {
        try await withApp(.sqlite, configure: { $0.gateway.rateLimits.consentPerUser = 2 }) { api in
            let alice = try await api.newUser(confirmed: true)
            try await awayFromRateWindowEdge()
            let body = #"{"purpose":"marketing","decision":"granted"}"#
            for _ in 0..<2 {
                let response = try await api.send(
                    .post, "/v1/subjects/\(alice.id)/consents", json: body, token: alice.accessToken)
                #expect(response.status == .created)
            }
            try await api.send(.post, "/v1/subjects/\(alice.id)/consents", json: body, token: alice.accessToken)
                .expectProblem(.tooManyRequests)
            for spelling in [
                "/v1//subjects/\(alice.id)/consents", "/v1/subjects/\(alice.id)/consents/",
                "//v1/subjects/\(alice.id)//consents",
            ] {
                let detail = try await api.send(.post, spelling, json: body, token: alice.accessToken)
                    .expectProblem(.notFound)
                #expect(detail.contains("/v1/subjects/\(alice.id)/consents"))
            }

            let redirect = try await api.send(.get, "/v1//me/export/?format=zip", token: alice.accessToken)
            #expect(redirect.status == .permanentRedirect)
            #expect(redirect.headers[.location] == "/v1/me/export?format=zip")
            let page = try await api.send(.get, "//evil.example/x", token: nil)
            #expect(page.headers[.location] == "/evil.example/x", "a redirect never leaves the origin")
            #expect(try await api.send(.get, "/v1/purposes", token: nil).status == .ok)
        }
    }
}
