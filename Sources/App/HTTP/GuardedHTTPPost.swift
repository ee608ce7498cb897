import AsyncHTTPClient
import Foundation
import Identity
import NIOCore
import NIOPosix
import Outbox

/// Posts to endpoints that others registered: relying parties' back-channel logout URIs and webhook
/// endpoints. Unless private networks are allowed, the endpoint's name is resolved here, the address is
/// checked, and the connection goes to that very address (the name still checked by TLS): a DNS answer
/// that changes between check and connect (a rebind) cannot turn QSPP against its own network.
/// Redirects are never followed, for the same reason.
struct GuardedHTTPPost: Sendable {
    let allowsPrivateNetworks: Bool
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
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow, timeout: .init(connect: .seconds(5), read: Self.timeout))
        if !allowsPrivateNetworks {
            configuration.dnsOverride = [
                host: try await Self.publicAddress(of: host, port: url.port ?? (scheme == "https" ? 443 : 80))
            ]
        }
        var request = HTTPClientRequest(url: uri)
        request.method = .POST
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(body)
        let (exchange, settings) = (request, configuration)
        do {
            return try await withThrowingTaskGroup(of: UInt.self) { group in
                group.addTask {
                    try await HTTPClient.withHTTPClient(configuration: settings) { client in
                        let response = try await client.execute(exchange, timeout: Self.timeout)
                        // The body is the endpoint's business; read a little, so the connection closes cleanly.
                        _ = try? await response.body.collect(upTo: 4096)
                        return response.status.code
                    }
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
