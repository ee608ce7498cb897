import App
import Foundation
import HTTPTypes
import QSPPTestSupport
import Testing

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
        let metrics = HTTPMetrics()
        try await withApp(backend, metrics: metrics) { api in
            let subject = uniqueSubjectText()
            try await api.send(
                .post, "/v1/subjects/\(subject)/consents/batch",
                json:
                    #"{"decisions":[{"purpose":"cookies","decision":"granted"},{"purpose":"analytics","decision":"granted"}]}"#
            )
            let text = String(buffer: try await api.send(.get, "/metrics", token: nil).body)
            #expect(text.contains("qspp_consent_events_written_total 2"))
            #expect(
                text.contains(
                    #"http_requests_total{route="/v1/subjects/{subjectId}/consents/batch",method="POST",status="201"} 1"#
                )
                    || text.contains(#"route="/v1/subjects/:subjectId/consents/batch""#))
            #expect(text.contains("http_request_duration_seconds_bucket"))
            #expect(!text.contains(subject))
        }
    }

    /// Every operation the OpenAPI document promises is routed, and every routed path is documented.
    @Test func theOpenAPIDocumentMatchesTheRoutes() async throws {
        try await withApp(.sqlite) { api in
            let response = try await api.send(.get, "/openapi.json", token: nil)
            #expect(response.status == .ok)
            let document = try response.object()
            #expect((document["openapi"] as? String)?.hasPrefix("3.1") == true)
            let paths = try #require(document["paths"] as? [String: [String: Any]])
            var operations: Set<String> = []
            for (path, methods) in paths {
                for method in methods.keys where ["get", "post", "patch", "put", "delete"].contains(method) {
                    operations.insert("\(method.uppercased()) \(path)")
                    let uri = path.replacingOccurrences(of: "{subjectId}", with: "alice")
                        .replacingOccurrences(of: "{userId}", with: "alice")
                        .replacingOccurrences(of: "{purposeId}", with: "marketing")
                    let answer = try await api.send(HTTPRequest.Method(method.uppercased())!, uri, json: "{}")
                    if answer.status == .notFound {
                        #expect(
                            try answer.object()["detail"] as? String != "no such resource",
                            "\(method) \(path) is not routed")
                    }
                }
            }
            #expect(operations == Self.routedOperations)
        }
    }

    static let routedOperations: Set<String> = [
        "GET /health", "GET /ready", "GET /metrics", "GET /openapi.json", "GET /.well-known/gpc.json",
        "GET /v1/purposes", "POST /v1/purposes", "GET /v1/purposes/{purposeId}", "PATCH /v1/purposes/{purposeId}",
        "POST /v1/purposes/{purposeId}/notices",
        "POST /v1/subjects/{subjectId}/consents", "GET /v1/subjects/{subjectId}/consents",
        "POST /v1/subjects/{subjectId}/consents/batch", "GET /v1/subjects/{subjectId}/consents/history",
        "POST /consent", "GET /consent/{userId}",
    ]
}
