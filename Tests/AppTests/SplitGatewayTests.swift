import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import NIOPosix
import PQCrypto
import QSPPTestSupport
import Synchronization
import Testing

@testable import App

/// The split-mode gateway against stand-in upstreams: one that echoes what reached it, one that
/// hangs up on every connection, and one that never answers.
@Suite("Split gateway: forwarding, retries, circuit breaking, JWKS")
struct SplitGatewayTests {
    @Test("the request id, trace context and client address go upstream; hop-by-hop fields stop at the gateway")
    func forwardsWhatTheUpstreamNeeds() async throws {
        let echo = Router()
        for method in [HTTPRequest.Method.get, .post] {
            echo.on("**", method: method) { request, _ -> Response in
                var seen: [String: String] = [:]
                for field in request.headers { seen[field.name.canonicalName] = field.value }
                seen[":path"] = request.uri.description
                let body = try JSONSerialization.data(withJSONObject: seen)
                return Response(
                    status: .ok,
                    headers: [
                        .contentType: "application/json", HTTPField.Name("X-Upstream")!: "echo",
                        HTTPField.Name("Keep-Alive")!: "timeout=5",
                    ], body: .init(byteBuffer: ByteBuffer(bytes: body)))
            }
        }
        try await Application(router: echo).test(.live) { upstream in
            let url = URL(string: "http://localhost:\(try #require(upstream.port))")!
            try await withGateway(upstreams: url) { gateway in
                let traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
                let response = try await gateway.executeRequest(
                    uri: "/v1/purposes?limit=5", method: .get,
                    headers: [
                        .xRequestID: "request-123", HTTPField.Name("traceparent")!: traceparent,
                        HTTPField.Name("X-Forwarded-For")!: "203.0.113.9", .authorization: "Bearer not-a-token",
                        HTTPField.Name("TE")!: "trailers",
                    ], body: nil)
                #expect(response.status == .ok)
                let seen = try #require(
                    try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: String])
                #expect(seen[":path"] == "/v1/purposes?limit=5")
                #expect(seen["x-request-id"] == "request-123")
                #expect(seen["traceparent"] == traceparent)
                // The gateway trusts no proxy here, so the client is its TCP peer, not what it claimed.
                #expect(seen["x-forwarded-for"] == "127.0.0.1" || seen["x-forwarded-for"] == "::1")
                #expect(seen["authorization"] == "Bearer not-a-token")
                #expect(seen["te"] == nil)
                #expect(response.headers[HTTPField.Name("X-Upstream")!] == "echo")
                #expect(response.headers[HTTPField.Name("Keep-Alive")!] == nil)
                #expect(response.headers[.xRequestID] == "request-123")
                #expect(response.headers[.xContentTypeOptions] == "nosniff")
                // Bodies: 64 KiB, except a valuation task's 8 MiB, as the roles themselves allow.
                let large = ByteBuffer(repeating: UInt8(ascii: " "), count: 100_000)
                let task = try await gateway.executeRequest(
                    uri: "/v1/admin/valuation/tasks", method: .post, headers: [.contentType: "application/json"],
                    body: large)
                #expect(task.status == .ok)
                let decision = try await gateway.executeRequest(
                    uri: "/v1/purposes", method: .post, headers: [.contentType: "application/json"], body: large)
                try decision.expectProblem(.contentTooLarge)
                // Routes the gateway serves itself never reach an upstream.
                #expect(
                    try await gateway.executeRequest(uri: "/health", method: .get, headers: [:], body: nil).status
                        == .ok)
                let unknown = try await gateway.executeRequest(
                    uri: "/v1/nowhere", method: .get, headers: [:], body: nil)
                try unknown.expectProblem(.notFound)
            }
        }
    }

    @Test("broken connections: idempotent requests are retried twice, others never; an open circuit answers 503")
    func retriesAndCircuitBreaking() async throws {
        let hangUp = try await StandInUpstream.start(closing: true)
        defer { hangUp.stop() }
        try await withGateway(upstreams: hangUp.url) { gateway in
            func send(_ method: HTTPRequest.Method, _ uri: String, key: String? = nil) async throws -> TestResponse {
                var headers: HTTPFields = [.contentType: "application/json"]
                if let key { headers[.idempotencyKey] = key }
                return try await gateway.executeRequest(
                    uri: uri, method: method, headers: headers, body: method == .post ? ByteBuffer(string: "{}") : nil)
            }
            try await send(.get, "/v1/purposes").expectProblem(.badGateway)
            #expect(hangUp.requests == 3)
            // A POST might have been acted on before the connection broke: one attempt only.
            try await send(.post, "/v1/auth/login").expectProblem(.badGateway)
            #expect(hangUp.requests == 4)
            // Unless it carries an idempotency key, which the upstream deduplicates.
            try await send(.post, "/v1/auth/register", key: "retry-me").expectProblem(.badGateway)
            #expect(hangUp.requests == 7)
            // The consent upstream's fifth failure in a row opens its circuit, which ends the retries...
            try await send(.get, "/v1/purposes").expectProblem(.badGateway)
            #expect(hangUp.requests == 9)
            // ...and then refuses at once, without a connection, saying when to come back.
            let refused = try await send(.get, "/v1/purposes")
            try refused.expectProblem(.serviceUnavailable)
            #expect(Int(refused.headers[.retryAfter] ?? "") ?? 0 >= 1)
            #expect(hangUp.requests == 9)
            // Circuits are per upstream: valuation is still tried.
            try await send(.get, "/v1/me/valuation").expectProblem(.badGateway)
            #expect(hangUp.requests == 12)
        }
    }

    @Test("an upstream that accepts and never answers gets 504 after the configured timeout")
    func timesOut() async throws {
        let silent = try await StandInUpstream.start(closing: false)
        defer { silent.stop() }
        try await withGateway(upstreams: silent.url, timeout: .milliseconds(300)) { gateway in
            let response = try await gateway.executeRequest(
                uri: "/v1/purposes", method: .post, headers: [.contentType: "application/json"],
                body: ByteBuffer(string: "{}"))
            try response.expectProblem(.gatewayTimeout)
            #expect(silent.requests == 1)
        }
    }

    @Test("tokens verify against the fetched JWKS; an unknown kid fetches it again, at most once per interval")
    func jwksVerification() async throws {
        try await withApp(.sqlite) { api in
            let user = try await api.newUser()
            let jwks = Data(try await api.send(.get, "/.well-known/jwks.json", token: nil).body.readableBytesView)
            let fetches = Atomic(0)
            let configuration = api.services.settings
            func verifier(refetchingAfter interval: Duration) -> JWKSTokenVerifier {
                JWKSTokenVerifier(
                    issuer: configuration.issuer, audience: configuration.tokens.audience, refetchInterval: interval
                ) {
                    fetches.add(1, ordering: .relaxed)
                    return jwks
                }
            }
            let patient = verifier(refetchingAfter: .seconds(10))
            let subject = try jwtPart(user.accessToken, 1)["sub"] as? String
            #expect(try await patient.subject(of: user.accessToken) == subject)
            #expect(try await patient.subject(of: user.accessToken) == subject)
            #expect(fetches.load(ordering: .relaxed) == 1)
            // A kid the set does not hold is refused; it fetches the set again only once the interval
            // since the last fetch has passed, so forged kids cannot drive fetches.
            let parts = user.accessToken.split(separator: ".").map(String.init)
            var header = try jwtPart(user.accessToken, 0)
            header["kid"] = "unknown-key"
            let unknownKid =
                Base64URL.encode(try JSONSerialization.data(withJSONObject: header)) + "." + parts[1] + "." + parts[2]
            for _ in 0..<3 {
                await #expect(throws: JWKSTokenVerifier.Rejection.self) { try await patient.subject(of: unknownKid) }
            }
            #expect(fetches.load(ordering: .relaxed) == 1)
            let eager = verifier(refetchingAfter: .zero)
            #expect(try await eager.subject(of: user.accessToken) == subject)
            await #expect(throws: JWKSTokenVerifier.Rejection.self) { try await eager.subject(of: unknownKid) }
            #expect(fetches.load(ordering: .relaxed) == 3)
            let verifier = patient
            // A flipped signature byte, another audience, another issuer: all refused.
            var signature = Array(parts[2].utf8)
            signature[10] = signature[10] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
            let tampered = parts[0] + "." + parts[1] + "." + String(decoding: signature, as: UTF8.self)
            await #expect(throws: JWKSTokenVerifier.Rejection.self) { try await verifier.subject(of: tampered) }
            for (issuer, audience) in [
                (configuration.issuer, "someone-else"), ("https://elsewhere", configuration.tokens.audience),
            ] {
                let strict = JWKSTokenVerifier(issuer: issuer, audience: audience) { jwks }
                await #expect(throws: JWKSTokenVerifier.Rejection.self) {
                    try await strict.subject(of: user.accessToken)
                }
            }
            // Expired: checked against the clock the caller gives.
            await #expect(throws: JWKSTokenVerifier.Rejection.self) {
                try await verifier.subject(of: user.accessToken, now: Date().addingTimeInterval(16 * 60))
            }
        }
    }
}

/// A gateway (SQLite for its own pages and limits) whose three upstreams are all `upstreams`.
private func withGateway(
    upstreams url: URL, timeout: Duration = .seconds(30),
    _ body: @Sendable (any TestClientProtocol) async throws -> Void
) async throws {
    var configuration = try testConfiguration(.sqlite)
    configuration.gateway.role = .gateway
    configuration.gateway.upstreams = Upstreams(urls: [.consent: url, .auth: url, .valuation: url])
    configuration.gateway.upstreams.timeout = timeout
    let app = try await buildApplication(configuration: configuration, logger: testLogger)
    try await app.test(.live) { client in try await body(client) }
}

/// A TCP server that counts the requests that reach it, then hangs up on each (a request that may have
/// been acted on) or holds it open in silence.
private final class StandInUpstream: Sendable {
    let channel: any Channel
    private let counter: Counter

    final class Counter: Sendable {
        let value = Atomic(0)
    }

    var requests: Int { counter.value.load(ordering: .relaxed) }
    var url: URL { URL(string: "http://127.0.0.1:\(channel.localAddress!.port!)")! }

    private init(channel: any Channel, counter: Counter) {
        self.channel = channel
        self.counter = counter
    }

    static func start(closing: Bool) async throws -> StandInUpstream {
        let counter = Counter()
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { child in
                child.pipeline.addHandler(Receiver(counter: counter, closing: closing))
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return StandInUpstream(channel: channel, counter: counter)
    }

    func stop() { channel.close(promise: nil) }

    private final class Receiver: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let counter: Counter
        let closing: Bool
        private let counted = Atomic(false)

        init(counter: Counter, closing: Bool) {
            self.counter = counter
            self.closing = closing
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            if !counted.exchange(true, ordering: .relaxed) { counter.value.add(1, ordering: .relaxed) }
            if closing { context.close(promise: nil) }
        }
    }
}
