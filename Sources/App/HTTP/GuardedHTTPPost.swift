import AsyncHTTPClient
import Foundation
import Identity
import NIOCore
import NIOPosix
import Outbox
import ServiceLifecycle
import Synchronization

/// Posts to endpoints that others registered: relying parties' back-channel logout URIs and webhook
/// endpoints. Unless private networks are allowed, the endpoint's name is resolved here, the address is
/// checked, and the connection goes to that very address (the name still checked by TLS): a DNS answer
/// that changes between check and connect (a rebind) cannot turn QSPP against its own network.
/// Redirects are never followed, for the same reason. Posts to one endpoint within a few seconds share a
/// client, and so its kept-alive connections, all to the address checked when the client was made.
struct GuardedHTTPPost: Sendable {
    let allowsPrivateNetworks: Bool
    let clients = PinnedClients()
    static let timeout: TimeAmount = .seconds(10)
    /// The whole exchange, answer body included: a receiver that trickles its answer cannot hold a
    /// sender, whose lease must outlive the attempt.
    static let deadline: Duration = .seconds(20)
    static let resolutionTimeout: Duration = .seconds(5)
    /// getaddrinfo blocks its thread for as long as a name server takes: on threads of their own, a
    /// slow endpoint's DNS cannot hold up the database driver's work on the shared pool.
    static let resolvers: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: 2)
        pool.start()
        return pool
    }()

    /// The status the endpoint answered with.
    func post(_ body: ByteBuffer, headers: [(String, String)], to uri: String) async throws(DeliveryFailure) -> UInt {
        guard let url = URL(string: uri), let scheme = url.scheme, let host = url.host(percentEncoded: false) else {
            throw DeliveryFailure("the endpoint is not a URL", permanent: true)
        }
        let port = url.port ?? (scheme == "https" ? 443 : 80)
        let client = try await clients.client(for: PinnedClients.Key(scheme: scheme, host: host, port: port)) {
            () async throws(DeliveryFailure) -> HTTPClient.Configuration in
            var configuration = HTTPClient.Configuration(
                redirectConfiguration: .disallow, timeout: .init(connect: .seconds(5), read: Self.timeout))
            configuration.connectionPool = .init(
                idleTimeout: .seconds(10), concurrentHTTP1ConnectionsPerHostSoftLimit: 16)
            if !allowsPrivateNetworks {
                configuration.dnsOverride = [host: try await Self.publicAddress(of: host, port: port)]
            }
            return configuration
        }
        var request = HTTPClientRequest(url: uri)
        request.method = .POST
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(body)
        let exchange = request
        do {
            return try await withThrowingTaskGroup(of: UInt.self) { group in
                group.addTask {
                    let response = try await client.execute(exchange, timeout: Self.timeout)
                    // The body is the endpoint's business; read a little, so the connection can be kept.
                    _ = try? await response.body.collect(upTo: 4096)
                    return response.status.code
                }
                group.addTask {
                    try await Task.sleep(for: Self.deadline)
                    throw CancellationError()
                }
                defer { group.cancelAll() }
                guard let status = try await group.next() else { throw CancellationError() }
                return status
            }
        } catch {
            throw DeliveryFailure("no answer (\(type(of: error)))", permanent: false)
        }
    }

    /// The address `host` resolves to, when it is a public one.
    static func publicAddress(of host: String, port: Int) async throws(DeliveryFailure) -> String {
        let address: SocketAddress
        do {
            address = try await withThrowingTaskGroup(of: SocketAddress.self) { group in
                group.addTask {
                    try await resolvers.runIfActive { try SocketAddress.makeAddressResolvingHost(host, port: port) }
                }
                group.addTask {
                    try await Task.sleep(for: resolutionTimeout)
                    throw CancellationError()
                }
                defer { group.cancelAll() }
                guard let first = try await group.next() else { throw CancellationError() }
                return first
            }
        } catch {
            throw DeliveryFailure("the endpoint's name did not resolve in time", permanent: false)
        }
        guard let text = address.ipAddress, NetworkScope.isPublic(address) else {
            throw DeliveryFailure("the endpoint resolves to a private address", permanent: true)
        }
        return text
    }
}

/// Posts logout tokens to relying parties' back-channel endpoints.
struct HTTPLogoutTransport: LogoutTokenTransport {
    let post: GuardedHTTPPost

    init(allowsPrivateNetworks: Bool) { post = GuardedHTTPPost(allowsPrivateNetworks: allowsPrivateNetworks) }

    func deliver(_ token: String, to uri: String) async throws(DeliveryFailure) {
        // A compact JWS is base64url and dots: nothing in it needs escaping in a form.
        let status = try await post.post(
            ByteBuffer(string: "logout_token=" + token),
            headers: [("Content-Type", "application/x-www-form-urlencoded")], to: uri)
        switch status {
        case 200, 204: return
        // Back-Channel Logout §2.8: 400 means the token was refused, and a copy will be refused too.
        case 400..<500 where status != 408 && status != 429:
            throw DeliveryFailure("the relying party answered \(status)", permanent: true)
        default: throw DeliveryFailure("the relying party answered \(status)", permanent: false)
        }
    }
}

/// Posts webhooks; the sender judges the status.
struct HTTPWebhookTransport: WebhookTransport {
    let post: GuardedHTTPPost

    init(allowsPrivateNetworks: Bool) { post = GuardedHTTPPost(allowsPrivateNetworks: allowsPrivateNetworks) }

    func post(_ body: Data, headers: [(String, String)], to url: String) async throws(DeliveryFailure) -> UInt {
        try await post.post(ByteBuffer(bytes: body), headers: headers, to: url)
    }
}

/// HTTP clients per endpoint (scheme, host and port), each pinned to the address checked when it was
/// made, kept for a few seconds so that a round of deliveries to one endpoint reuses its connections
/// instead of opening one per post. A client past its time is handed to no one, and shut down once
/// every post it may still be carrying has reached its deadline. A service: on shutdown it shuts every
/// client down and makes no more, so list it before the senders that use it, which stop first.
final class PinnedClients: Service, Sendable {
    struct Key: Hashable, Sendable {
        let scheme: String
        let host: String
        let port: Int
    }

    private struct State {
        var current: [Key: (client: HTTPClient, madeAt: ContinuousClock.Instant)] = [:]
        var retiring: [ObjectIdentifier: HTTPClient] = [:]
        var closed = false
    }

    /// How long a checked address is trusted for new connections.
    static let reuse: Duration = .seconds(10)
    private let state = Mutex(State())

    func client(
        for key: Key, configuration: () async throws(DeliveryFailure) -> HTTPClient.Configuration
    ) async throws(DeliveryFailure) -> HTTPClient {
        let now = ContinuousClock.now
        let (current, expired) = try state.withLock { state throws(DeliveryFailure) -> (HTTPClient?, [HTTPClient]) in
            guard !state.closed else { throw DeliveryFailure("the server is stopping", permanent: false) }
            let stale = state.current.filter { now - $0.value.madeAt >= Self.reuse }
            for (key, entry) in stale {
                state.current[key] = nil
                state.retiring[ObjectIdentifier(entry.client)] = entry.client
            }
            return (state.current[key]?.client, stale.values.map(\.client))
        }
        retire(expired)
        if let current { return current }
        let made = HTTPClient(eventLoopGroupProvider: .singleton, configuration: try await configuration())
        let (chosen, lost) = state.withLock { state -> (HTTPClient, HTTPClient?) in
            // Another post made one meanwhile, or the server began to stop: ours is not kept.
            if let existing = state.current[key] { return (existing.client, made) }
            if state.closed { return (made, made) }
            state.current[key] = (made, now)
            return (made, nil)
        }
        if let lost {
            state.withLock { $0.retiring[ObjectIdentifier(lost)] = lost }
            retire([lost])
        }
        return chosen
    }

    func run() async throws {
        try? await gracefulShutdown()
        await shutdown()
    }

    /// Shuts every client down, at once: posts still under way fail, and are tried again later.
    func shutdown() async {
        let clients = state.withLock { state -> [HTTPClient] in
            state.closed = true
            defer {
                state.current = [:]
                state.retiring = [:]
            }
            return state.current.values.map(\.client) + state.retiring.values
        }
        for client in clients { try? await client.shutdown() }
    }

    private func retire(_ retired: [HTTPClient]) {
        guard !retired.isEmpty else { return }
        Task {
            try? await Task.sleep(for: GuardedHTTPPost.deadline + .seconds(1))
            for client in retired {
                // Unless shutdown() took it first.
                guard state.withLock({ $0.retiring.removeValue(forKey: ObjectIdentifier(client)) }) != nil else {
                    continue
                }
                try? await client.shutdown()
            }
        }
    }
}
