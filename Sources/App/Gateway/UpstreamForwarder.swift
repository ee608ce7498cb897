import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import Tracing

/// Sends a request on to the upstream role that serves it, and streams the answer back, so a large
/// export passes through without being held in memory.
///
/// - The request id and the W3C trace context go with the request; the client's address goes as the
///   only `X-Forwarded-For` hop, for upstreams that trust the gateway (`QSPP_TRUSTED_PROXIES`).
/// - Transport failures of idempotent requests (safe methods, `PUT`, `DELETE`, and anything with an
///   `Idempotency-Key`, which the upstream deduplicates) are retried twice; no other request is.
/// - Each upstream has its own ``CircuitBreaker``; an open one answers 503 at once.
/// - A refused or broken connection answers 502, a timeout 504.
struct UpstreamForwarder: Sendable {
    struct Upstream: Sendable {
        let role: ServerRole
        let baseURL: String
        let breaker: CircuitBreaker
    }

    let client: HTTPClient
    let upstreams: [ServerRole: Upstream]
    let timeout: Duration
    static let retries = 2
    static let bufferedAnswerLimit = 256 * 1024

    init(client: HTTPClient, upstreams: Upstreams) {
        self.client = client
        self.timeout = upstreams.timeout
        self.upstreams = upstreams.urls.reduce(into: [:]) { result, entry in
            var base = entry.value.absoluteString
            while base.hasSuffix("/") { base.removeLast() }
            result[entry.key] = Upstream(role: entry.key, baseURL: base, breaker: CircuitBreaker())
        }
    }

    /// `bodyLimit` is the route's own: the role behind enforces it too, but the gateway holds the body.
    func forward(
        _ request: Request, context: AppRequestContext, to role: ServerRole, bodyLimit: Int
    ) async throws -> Response {
        guard let upstream = upstreams[role] else { throw Problem.internalError }
        if let wait = upstream.breaker.permit() { throw Problem.upstreamUnavailable(role, retryAfter: wait) }
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: bodyLimit)
        } catch is NIOTooManyBytesError {
            throw Problem.payloadTooLarge(limit: bodyLimit)
        }
        var outgoing = HTTPClientRequest(
            url: upstream.baseURL + request.uri.path + (request.uri.query.map { "?" + $0 } ?? ""))
        outgoing.method = HTTPMethod(rawValue: request.method.rawValue)
        outgoing.headers = Self.forwardedHeaders(request.headers, context: context)
        if body.readableBytes > 0 { outgoing.body = .bytes(body) }
        let attempts = Self.isIdempotent(request) ? 1 + Self.retries : 1
        return try await withSpan("upstream \(role)", ofKind: .client) { span in
            InstrumentationSystem.instrument.inject(span.context, into: &outgoing.headers, using: HeadersInjector())
            var attempt = 0
            while true {
                attempt += 1
                do {
                    let response = try await client.execute(outgoing, timeout: .init(timeout), logger: context.logger)
                    upstream.breaker.recordSuccess()
                    let status = HTTPResponse.Status(
                        code: Int(response.status.code), reasonPhrase: response.status.reasonPhrase)
                    let headers = Self.returnedHeaders(response.headers)
                    // Small answers are passed on whole; streaming them cost more than they weigh.
                    if let length = response.headers.first(name: "content-length").flatMap(Int.init),
                        length <= Self.bufferedAnswerLimit
                    {
                        let body = try await response.body.collect(upTo: length)
                        return Response(status: status, headers: headers, body: .init(byteBuffer: body))
                    }
                    return Response(status: status, headers: headers, body: ResponseBody(asyncSequence: response.body))
                } catch let error as HTTPClientError where error == .deadlineExceeded {
                    upstream.breaker.recordFailure()
                    throw Problem.upstreamTimedOut(role)
                } catch is CancellationError {
                    throw CancellationError()
                } catch {
                    upstream.breaker.recordFailure()
                    context.logger.warning(
                        "upstream request failed",
                        metadata: ["upstream": "\(role)", "attempt": "\(attempt)", "error": "\(type(of: error))"])
                    guard attempt < attempts, upstream.breaker.permit() == nil else {
                        throw Problem.badGateway(role)
                    }
                    try await Task.sleep(for: .milliseconds(25 << attempt))
                }
            }
        }
    }

    /// The auth role's public keys, for ``JWKSTokenVerifier``.
    func fetchJWKS() async throws -> Data {
        guard let auth = upstreams[.auth] else { throw Problem.internalError }
        let request = HTTPClientRequest(url: auth.baseURL + "/.well-known/jwks.json")
        let response = try await client.execute(request, timeout: .seconds(5))
        guard response.status == .ok else { throw Problem.badGateway(.auth) }
        return Data(buffer: try await response.body.collect(upTo: 1 << 20))
    }

    static func isIdempotent(_ request: Request) -> Bool {
        [.get, .head, .options, .put, .delete].contains(request.method) || request.headers[.idempotencyKey] != nil
    }

    /// RFC 9110 §7.6.1: connection-specific fields, and any field `Connection` names, stop at each hop.
    private static let hopByHop: Set<String> = [
        "connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade",
        "proxy-authorization", "proxy-authenticate",
    ]

    static func forwardedHeaders(_ fields: HTTPFields, context: AppRequestContext) -> HTTPHeaders {
        var headers = HTTPHeaders()
        let named = connectionNamed(fields)
        for field in fields {
            let name = field.name.canonicalName
            if hopByHop.contains(name) || named.contains(name) { continue }
            if ["host", "content-length", "x-forwarded-for", "x-request-id"].contains(name) { continue }
            headers.add(name: field.name.rawName, value: field.value)
        }
        if let client = context.forwardedClientAddress ?? context.remoteAddress?.ipAddress {
            headers.add(name: "X-Forwarded-For", value: client)
        }
        headers.add(name: "X-Request-Id", value: context.requestID)
        return headers
    }

    static func returnedHeaders(_ headers: HTTPHeaders) -> HTTPFields {
        var fields = HTTPFields()
        let named = Set(headers[canonicalForm: "connection"].map { $0.lowercased() })
        for (name, value) in headers {
            let lowered = name.lowercased()
            if hopByHop.contains(lowered) || named.contains(lowered) || lowered == "x-request-id" { continue }
            if let fieldName = HTTPField.Name(name) { fields.append(HTTPField(name: fieldName, value: value)) }
        }
        return fields
    }

    private static func connectionNamed(_ fields: HTTPFields) -> Set<String> {
        Set(
            fields[values: .connection].flatMap { $0.split(separator: ",") }
                .map { $0.trimmingCharacters(in: .whitespaces).lowercased() })
    }
}

private struct HeadersInjector: Injector {
    func inject(_ value: String, forKey key: String, into headers: inout HTTPHeaders) {
        headers.replaceOrAdd(name: key, value: value)
    }
}

extension Problem {
    static func badGateway(_ role: ServerRole) -> Problem {
        Problem(
            .badGateway, "upstream-failed", "Upstream unreachable",
            detail: "the \(role) service could not be reached; retry shortly")
    }

    static func upstreamTimedOut(_ role: ServerRole) -> Problem {
        Problem(
            .gatewayTimeout, "upstream-timeout", "Upstream timed out",
            detail: "the \(role) service did not answer in time")
    }

    static func upstreamUnavailable(_ role: ServerRole, retryAfter: Duration) -> Problem {
        var problem = Problem(
            .serviceUnavailable, "upstream-unavailable", "Upstream unavailable",
            detail: "the \(role) service is failing; the gateway is not sending it requests for a moment")
        problem.headers[.retryAfter] = "\(max(1, retryAfter.components.seconds + 1))"
        return problem
    }
}

/// The gateway's HTTP client: no redirects followed (they go back to the caller as they are), no
/// decompression, short connect timeout. Shut down after the server has drained.
struct UpstreamClientService: Service {
    let client: HTTPClient

    static func makeClient() -> HTTPClient {
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow, timeout: .init(connect: .seconds(1), read: .seconds(60)))
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 64)
        configuration.decompression = .disabled
        configuration.httpVersion = .http1Only
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }

    func run() async throws {
        try? await gracefulShutdown()
        try await client.shutdown()
    }
}
