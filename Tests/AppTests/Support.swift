import App
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Identity
import Logging
import NIOCore
import QSPPTestSupport
import Storage
import Testing

/// Stands for "the administrator's token" in `API.send`, which each app gets anew.
let asAdmin = "\u{0}admin"

/// The configuration every in-process test starts from: the real defaults, a fixed master key, and
/// per-address limits out of the way (in-process requests all come from one unknown address).
func testConfiguration(_ backend: Backend) throws -> AppConfiguration {
    var configuration = AppConfiguration(databaseURL: try backend.databaseURL(), masterKey: testMasterKey)
    configuration.loginRateLimit = 1_000_000
    configuration.registrationRateLimit = 1_000_000
    configuration.mfaRateLimit = 1_000_000
    configuration.rateLimits.globalPerAddress = 100_000_000
    configuration.rateLimits.consentPerUser = 100_000_000
    configuration.rateLimits.costlyPerUser = 100_000_000
    return configuration
}

/// Builds the real application on `backend`, creates an administrator the way `qspp users create-admin`
/// does, logs in, and drives the router in-process.
func withApp(
    _ backend: Backend, metrics: HTTPMetrics = HTTPMetrics(), configure: (inout AppConfiguration) -> Void = { _ in },
    testing: TestingSetup = .router, _ body: @Sendable (API) async throws -> Void
) async throws {
    var configuration = try testConfiguration(backend)
    configure(&configuration)
    let services = try await AppServices.open(configuration, logger: testLogger, metrics: metrics)
    let app = try await buildApplication(services: services, logger: testLogger)
    try await app.test(testing) { client in
        let email = "admin-\(UUID().uuidString.lowercased())@qspp.test"
        _ = try await services.identity.createAdministrator(email: email, password: testPassword)
        guard
            case .authenticated(let grant) = try await services.identity.login(
                email: email, password: testPassword, rememberMe: false, client: ClientInfo())
        else { throw CancellationError() }
        try await body(API(client: client, services: services, adminToken: grant.accessToken))
    }
}

struct API: Sendable {
    let client: any TestClientProtocol
    let services: AppServices
    let adminToken: String

    @discardableResult
    func send(
        _ method: HTTPRequest.Method, _ uri: String, json: String? = nil, token: String? = asAdmin,
        headers: HTTPFields = [:]
    ) async throws -> TestResponse {
        var headers = headers
        if let token { headers[.authorization] = "Bearer \(token == asAdmin ? adminToken : token)" }
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
