import App
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import QSPPTestSupport
import Storage
import Testing

let adminToken = "test-admin-token-0123456789abcdefghij"

/// Builds the real application on `backend` and drives its router in-process.
func withApp(
    _ backend: Backend, metrics: HTTPMetrics = HTTPMetrics(), _ body: @Sendable (API) async throws -> Void
) async throws {
    let configuration = AppConfiguration(databaseURL: try backend.databaseURL(), adminToken: adminToken)
    let app = try await buildApplication(configuration: configuration, logger: testLogger, metrics: metrics)
    try await app.test(.router) { client in try await body(API(client: client)) }
}

struct API: Sendable {
    let client: any TestClientProtocol

    @discardableResult
    func send(
        _ method: HTTPRequest.Method, _ uri: String, json: String? = nil, token: String? = adminToken,
        headers: HTTPFields = [:]
    ) async throws -> TestResponse {
        var headers = headers
        if let token { headers[.authorization] = "Bearer \(token)" }
        if json != nil, headers[.contentType] == nil { headers[.contentType] = "application/json" }
        return try await client.executeRequest(
            uri: uri, method: method, headers: headers, body: json.map { ByteBuffer(string: $0) })
    }

    /// The subject's full history, newest first.
    func history(_ subject: String) async throws -> [[String: Any]] {
        let response = try await send(.get, "/v1/subjects/\(subject)/consents/history?limit=500")
        #expect(response.status == .ok)
        return try response.object()["events"] as? [[String: Any]] ?? []
    }
}

extension TestResponse {
    func object() throws -> [String: Any] {
        let value = try JSONSerialization.jsonObject(with: Data(body.readableBytesView))
        return try #require(value as? [String: Any])
    }

    /// Asserts an RFC 9457 problem with this status, and returns its detail.
    @discardableResult
    func expectProblem(
        _ status: HTTPResponse.Status, sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> String {
        #expect(self.status == status, sourceLocation: sourceLocation)
        #expect(headers[.contentType] == "application/problem+json", sourceLocation: sourceLocation)
        let problem = try object()
        #expect(problem["status"] as? Int == Int(status.code), sourceLocation: sourceLocation)
        #expect((problem["type"] as? String)?.hasPrefix("urn:qspp:problem:") == true, sourceLocation: sourceLocation)
        #expect(problem["title"] is String, sourceLocation: sourceLocation)
        return problem["detail"] as? String ?? ""
    }
}

func uniqueSubjectText(_ prefix: String = "user") -> String { "\(prefix)-\(UUID().uuidString.lowercased())" }
