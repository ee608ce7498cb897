import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import QSPPTestSupport
import Services
import Testing

@testable import App

@Suite("Operations endpoints")
struct SystemAPITests {
    @Test(arguments: Backend.all)
    func healthReadinessAndGPC(backend: Backend) async throws {
        try await withApp(backend) { api in
            #expect(try await api.send(.get, "/health", token: nil).object()["status"] as? String == "ok")
            #expect(try await api.send(.get, "/ready", token: nil).object()["status"] as? String == "ready")
            let gpc = try await api.send(.get, "/.well-known/gpc.json", token: nil)
            #expect(gpc.status == .ok)
            #expect(try gpc.object()["gpc"] as? Bool == true)
        }
    }

    @Test(arguments: Backend.all)
    func everyResponseCarriesARequestID(backend: Backend) async throws {
        try await withApp(backend) { api in
            let generated = try await api.send(.get, "/health", token: nil)
            #expect(UUID(uuidString: generated.headers[.xRequestID] ?? "") != nil)
            let echoed = try await api.send(.get, "/health", token: nil, headers: [.xRequestID: "trace-abc_123"])
            #expect(echoed.headers[.xRequestID] == "trace-abc_123")
            let refused = try await api.send(.get, "/health", token: nil, headers: [.xRequestID: "bad id\u{7f}"])
            #expect(refused.headers[.xRequestID] != "bad id\u{7f}")
            let missing = try await api.send(.get, "/no/such/route", token: nil)
            try missing.expectProblem(.notFound)
            #expect(try missing.object()["requestId"] as? String == missing.headers[.xRequestID])
        }
    }

    @Test(arguments: Backend.all)
    func metricsCountRequestsAndConsentWrites(backend: Backend) async throws {
        let metrics = QSPPMetrics()
        try await withApp(backend, metrics: metrics) { api in
            let subject = uniqueSubjectText()
            try await api.send(
                .post, "/v1/subjects/\(subject)/consents/batch",
                json:
                    #"{"decisions":[{"purpose":"cookies","decision":"granted"},{"purpose":"analytics","decision":"granted"}]}"#
            )
            let text = try await api.metricsOfEveryProcess()
            #expect(text.contains("qspp_consent_events_written_total 2"))
            #expect(
                text.contains(
                    #"http_requests_total{route="/v1/subjects/{subjectId}/consents/batch",method="POST",status="201"} 1"#
                )
                    || text.contains(#"route="/v1/subjects/:subjectId/consents/batch""#))
            #expect(text.contains("http_request_duration_seconds_bucket"))
            #expect(!text.contains(subject))
            // The administrator's login (made by withApp) and a failed one are counted by kind.
            _ = try await api.login("nobody-\(UUID())@example.com", password: "wrong password here")
            let after = try await api.metricsOfEveryProcess()
            #expect(after.contains(#"qspp_auth_events_total{kind="login.success"} 1"#))
            #expect(after.contains(#"qspp_auth_events_total{kind="admin.created"} 1"#))
            #expect(after.contains(#"qspp_auth_events_total{kind="login.failure"} 1"#))
        }
    }

    /// Metrics name every route and count failures: not for the public. The public listener serves them
    /// to loopback unless told otherwise, judging the client behind a trusted proxy, not the proxy.
    @Test func metricsAreServedOnlyToManagementNetworks() async throws {
        try await withApp(.sqlite, testing: .router) { api in
            try await api.send(.get, "/metrics", token: nil).expectProblem(.forbidden)
        }
        try await withApp(.sqlite, testing: .live) { api in
            let metrics = try await api.send(.get, "/metrics", token: nil)
            #expect(metrics.status == .ok)
            #expect(String(buffer: metrics.body).contains("# TYPE qspp_"))
        }
        try await withApp(
            .sqlite, configure: { $0.server.metricsNetworks = [IPNetwork("10.0.0.0/8")!] }, testing: .live
        ) { api in
            try await api.send(.get, "/metrics", token: nil).expectProblem(.forbidden)
        }
        try await withApp(
            .sqlite, configure: { $0.server.trustedProxies = [IPNetwork("127.0.0.1")!] }, testing: .live
        ) { api in
            try await api.send(.get, "/metrics", token: nil, headers: [.xForwardedFor: "203.0.113.9"])
                .expectProblem(.forbidden)
            #expect(try await api.send(.get, "/metrics", token: nil, headers: [.xForwardedFor: "::1"]).status == .ok)
        }
    }

    @Test func theManagementPortServesProbesAndMetricsAndNothingElse() async throws {
        let port = try freePort()
        try await withApp(
            .sqlite,
            configure: {
                $0.server.managementPort = port; $0.server.metricsNetworks = []
            }, testing: .live
        ) { api in
            try await api.send(.get, "/metrics", token: nil).expectProblem(.forbidden)
            try await TestClient.withClient(host: "127.0.0.1", port: port) { management in
                let metrics = try await management.execute(.init("/metrics", method: .get))
                #expect(metrics.status == .ok)
                #expect(metrics.body.map { String(buffer: $0) }?.contains("http_requests_total") == true)
                #expect(try await management.execute(.init("/ready", method: .get)).status == .ok)
                #expect(try await management.execute(.init("/health", method: .get)).status == .ok)
                for path in ["/v1/purposes", "/openapi.json", "/login"] {
                    #expect(try await management.execute(.init(path, method: .get)).status == .notFound, "\(path)")
                }
            }
        }
    }

    /// The OpenAPI document lists exactly the JSON operations the router serves: every route but the
    /// portal's pages, except the pages that are OpenID Connect endpoints.
    @Test func theOpenAPIDocumentMatchesTheRoutes() async throws {
        try await withApp(.sqlite) { api in
            let response = try await api.send(.get, "/openapi.json", token: nil)
            #expect(response.status == .ok)
            let document = try response.object()
            #expect((document["openapi"] as? String)?.hasPrefix("3.1") == true)
            let paths = try #require(document["paths"] as? [String: [String: Any]])
            var documented: Set<String> = []
            for (path, methods) in paths {
                for method in methods.keys where ["get", "post", "patch", "put", "delete", "options"].contains(method) {
                    documented.insert("\(method.uppercased()) \(path)")
                }
            }
            func operations(_ router: Router<AppRequestContext>) -> Set<String> {
                Set(
                    router.routes.map { route in
                        let path = route.path.description.split(separator: "/").map { segment in
                            segment.hasPrefix(":") ? "{\(segment.dropFirst())}" : String(segment)
                        }
                        return "\(route.method.rawValue) /" + path.joined(separator: "/")
                    })
            }
            let pages = Router(context: AppRequestContext.self)
            pages.addRoutes(
                PageController(services: api.services).endpoints)
            #expect(operations(pages).contains("GET /my/consent"))
            let endpoints: Set = ["GET /authorize", "POST /authorize", "GET /end-session", "POST /end-session"]
            #expect(endpoints.isSubset(of: operations(pages)))
            let routed = operations(buildRouter(configuration: AppConfiguration(), services: api.services))
                .subtracting(operations(pages).subtracting(endpoints))
            #expect(
                documented.subtracting(routed).isEmpty, "documented but not routed: \(documented.subtracting(routed))")
            #expect(
                routed.subtracting(documented).isEmpty, "routed but not documented: \(routed.subtracting(documented))")
        }
    }
}
