import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Identity
import Logging
import NIOCore
import Outbox
import QSPPTestSupport
import Services
import Storage
import Testing

@testable import App

/// Stands for "the administrator's token" in `API.send`, which each app gets anew.
let asAdmin = "\u{0}admin"

/// The configuration every in-process test starts from: the real defaults, a fixed master key, and
/// per-address limits out of the way (in-process requests all come from one unknown address).
func testConfiguration(_ backend: Backend) throws -> AppConfiguration {
    var configuration = AppConfiguration(databaseURL: try backend.databaseURL(), masterKey: testMasterKey)
    configuration.signIn.loginRateLimit = 1_000_000
    configuration.signIn.registrationRateLimit = 1_000_000
    configuration.signIn.mfaRateLimit = 1_000_000
    configuration.gateway.rateLimits.globalPerAddress = 100_000_000
    configuration.gateway.rateLimits.consentPerUser = 100_000_000
    configuration.gateway.rateLimits.costlyPerUser = 100_000_000
    configuration.mail.directory = testMailDirectory
    return configuration
}

/// Where the tests' mail lands, never the working copy's ./data/mail. One folder for the whole run: on
/// the shared PostgreSQL database any test's server may send any test's mail, and recipients are
/// unique, so a test finds its own messages by their recipient.
let testMailDirectory = FileManager.default.temporaryDirectory
    .appendingPathComponent("qspp-test-mail-\(UUID().uuidString)").path

/// Builds the real application on `backend`, creates an administrator the way `qspp users create-admin`
/// does, logs in, and drives the router in-process. `isolated` gives the test a database of its own:
/// one whose background work (the mail sender above all) no other test's server shares. The server's
/// own webhook sender posts through `webhookTransport` when one is given.
func withApp(
    _ backend: Backend, isolated: Bool = false, metrics: QSPPMetrics = QSPPMetrics(),
    webhookTransport: (any WebhookTransport)? = nil,
    configure: (inout AppConfiguration) -> Void = { _ in }, testing: TestingSetup = .router,
    _ body: @Sendable (API) async throws -> Void
) async throws {
    var configuration = try testConfiguration(backend)
    if isolated { configuration.store.databaseURL = try await isolatedDatabaseURL(backend) }
    configure(&configuration)
    if TestTopology.current == .split, backend == .postgres {
        return try await withSplitApp(configuration, metrics: metrics, body)
    }
    let services = try await QSPPServices.open(configuration, logger: testLogger, metrics: metrics)
    let app = try await buildApplication(
        configuration: configuration, services: services, logger: testLogger, webhookTransport: webhookTransport)
    try await app.test(testing) { client in
        try await body(API(client: client, services: services, adminToken: try await administratorToken(services)))
    }
}

/// Which topology `withApp` builds: `QSPP_TEST_TOPOLOGY=split` runs the PostgreSQL cases through a
/// gateway and the three upstream roles, each a live server on loopback with its own services.
enum TestTopology: String {
    case allInOne = "all"
    case split

    static let current =
        TestTopology(rawValue: ProcessInfo.processInfo.environment["QSPP_TEST_TOPOLOGY"] ?? "all")
        ?? .allInOne
}

/// The split topology: each upstream role served live, then the gateway in front of them. The test
/// talks to the gateway only; `API.services` are the gateway's.
private func withSplitApp(
    _ configuration: AppConfiguration, metrics: QSPPMetrics, _ body: @Sendable (API) async throws -> Void
) async throws {
    try await withoutActuallyEscaping(body) { body in
        try await withSplitApp(configuration, metrics: metrics, escaping: body)
    }
}

private func withSplitApp(
    _ configuration: AppConfiguration, metrics: QSPPMetrics,
    escaping body: @escaping @Sendable (API) async throws -> Void
) async throws {
    var upstream = configuration
    // Upstreams see the gateway as their peer, and take the client's address from it.
    upstream.server.trustedProxies = [IPNetwork("127.0.0.1")!, IPNetwork("::1")!]
    try await serveRoles(ServerRole.upstreams[...], configuration: upstream, urls: [:], opened: []) { urls, upstreams in
        var gateway = configuration
        gateway.gateway.role = .gateway
        gateway.gateway.upstreams = Upstreams(urls: urls)
        let services = try await QSPPServices.open(gateway, logger: testLogger, metrics: metrics)
        let app = try await buildApplication(configuration: gateway, services: services, logger: testLogger)
        try await app.test(.live) { client in
            try await body(
                API(
                    client: client, services: services, adminToken: try await administratorToken(services),
                    upstreams: upstreams))
        }
    }
}

private func serveRoles(
    _ roles: ArraySlice<ServerRole>, configuration: AppConfiguration, urls: [ServerRole: URL], opened: [QSPPServices],
    _ body: @escaping @Sendable ([ServerRole: URL], [QSPPServices]) async throws -> Void
) async throws {
    guard let role = roles.first else { return try await body(urls, opened) }
    var own = configuration
    own.gateway.role = role
    let services = try await QSPPServices.open(own, logger: testLogger)
    let app = try await buildApplication(configuration: own, services: services, logger: testLogger)
    try await app.test(.live) { client in
        var urls = urls
        urls[role] = URL(string: "http://localhost:\(try #require(client.port))")!
        try await serveRoles(
            roles.dropFirst(), configuration: configuration, urls: urls, opened: opened + [services], body)
    }
}

/// Creates an administrator the way `qspp users create-admin` does, and logs in.
private func administratorToken(_ services: QSPPServices) async throws -> String {
    let email = "admin-\(UUID().uuidString.lowercased())@qspp.test"
    _ = try await services.identity.createAdministrator(email: email, password: testPassword)
    guard
        case .authenticated(let grant) = try await services.identity.login(
            email: email, password: testPassword, rememberMe: false, client: ClientInfo())
    else { throw CancellationError() }
    return grant.accessToken
}

struct API: Sendable {
    let client: any TestClientProtocol
    let services: QSPPServices
    let adminToken: String
    /// The upstream roles' own services, in the split topology.
    var upstreams: [QSPPServices] = []

    /// Every process's key ring reloads, as each does once a minute, after a key was added elsewhere.
    func reloadKeyRings() async throws {
        for process in [services] + upstreams { try await process.identity.tokens.keyRing.load() }
    }

    /// What `/metrics` shows on every process: each role counts the work it did itself. Read from the
    /// registries, since in-process requests come from no address `/metrics` would serve.
    func metricsOfEveryProcess() async throws -> String {
        let gateway = String(buffer: ByteBuffer(bytes: services.metrics.registry.emitToBuffer()))
        return upstreams.reduce(gateway) { text, process in
            text + String(buffer: ByteBuffer(bytes: process.metrics.registry.emitToBuffer()))
        }
    }

    @discardableResult
    func send(
        _ method: HTTPRequest.Method, _ uri: String, json: String? = nil, token: String? = asAdmin,
        headers: HTTPFields = [:]
    ) async throws -> TestResponse {
        var headers = headers
        if let token { headers[.authorization] = "Bearer \(token == asAdmin ? adminToken : token)" }
        if json != nil, headers[.contentType] == nil { headers[.contentType] = "application/json" }
        // The suite's administrator says why it reads people's data, as staff must; tests of that rule
        // pass the token itself (`api.adminToken`).
        let uri = token == asAdmin && method == .get ? Self.statingWhy(uri) : uri
        return try await client.executeRequest(
            uri: uri, method: method, headers: headers, body: json.map { ByteBuffer(string: $0) })
    }

    /// `uri` with a reason, when it reads someone's data (``AppRequestContext/recordStaffRead``).
    static func statingWhy(_ uri: String) -> String {
        let path = uri.split(separator: "?", maxSplits: 1)[0]
        let reads =
            path.wholeMatch(of: /\/v1\/subjects\/[^\/]+\/(consents|consents\/[^\/]+|export)/) != nil
            || path == "/v1/consent-checks"
            || path.wholeMatch(of: /\/(consent|portal\/consent)\/[^\/]+/) != nil
            || path.wholeMatch(of: /\/v1\/(consent-receipts\/[^\/]+|users\/[^\/]+\/sessions)/) != nil
        guard reads, !uri.contains("reason="), !uri.contains("request=") else { return uri }
        return uri + (uri.contains("?") ? "&" : "?") + "reason=checked+by+the+test+suite"
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

/// Rate limits count in fixed one-minute windows, and crossing into the next one refills every quota:
/// a test that counts refusals starts well inside a window.
func awayFromRateWindowEdge() async throws {
    let second = Int(Date().timeIntervalSince1970) % 60
    if second >= 50 { try await Task.sleep(for: .seconds(61 - second)) }
}

func uniqueSubjectText(_ prefix: String = "user") -> String { "\(prefix)-\(UUID().uuidString.lowercased())" }
