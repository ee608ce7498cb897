import AsyncHTTPClient
import Foundation
import Identity
import NIOCore
import NIOPosix

/// Posts logout tokens to relying parties' back-channel endpoints. Unless private networks are allowed,
/// the endpoint's name is resolved here, the address is checked, and the connection goes to that very
/// address (the name still checked by TLS): a DNS answer that changes between check and connect (a
/// rebind) cannot turn QSPP against its own network. Redirects are never followed, for the same reason.
struct HTTPLogoutTransport: LogoutTokenTransport {
    let allowsPrivateNetworks: Bool
    static let timeout: TimeAmount = .seconds(10)
    static let resolutionTimeout: Duration = .seconds(5)
    /// getaddrinfo blocks its thread for as long as a name server takes: on threads of their own, a
    /// slow relying party's DNS cannot hold up the database driver's work on the shared pool.
    static let resolvers: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: 2)
        pool.start()
        return pool
    }()

    func deliver(_ token: String, to uri: String) async throws(LogoutDeliveryFailure) {
        guard let url = URL(string: uri), let scheme = url.scheme, let host = url.host(percentEncoded: false) else {
            throw LogoutDeliveryFailure("the endpoint is not a URL", permanent: true)
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
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        // A compact JWS is base64url and dots: nothing in it needs escaping in a form.
        request.body = .bytes(ByteBuffer(string: "logout_token=" + token))
        let status: UInt
        do {
            status = try await HTTPClient.withHTTPClient(configuration: configuration) { client in
                let response = try await client.execute(request, timeout: Self.timeout)
                // The body is the relying party's business; read a little, so the connection closes cleanly.
                _ = try? await response.body.collect(upTo: 4096)
                return response.status.code
            }
        } catch {
            throw LogoutDeliveryFailure("no answer (\(type(of: error)))", permanent: false)
        }
        switch status {
        case 200, 204: return
        // Back-Channel Logout §2.8: 400 means the token was refused, and a copy will be refused too.
        case 400..<500 where status != 408 && status != 429:
            throw LogoutDeliveryFailure("the relying party answered \(status)", permanent: true)
        default: throw LogoutDeliveryFailure("the relying party answered \(status)", permanent: false)
        }
    }

    /// The address `host` resolves to, when it is a public one.
    static func publicAddress(of host: String, port: Int) async throws(LogoutDeliveryFailure) -> String {
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
            throw LogoutDeliveryFailure("the endpoint's name did not resolve in time", permanent: false)
        }
        guard let text = address.ipAddress, NetworkScope.isPublic(address) else {
            throw LogoutDeliveryFailure("the endpoint resolves to a private address", permanent: true)
        }
        return text
    }
}

/// Which addresses are on the public internet: not loopback, private, shared, link-local, multicast,
/// reserved or unspecified, in IPv4 or IPv6 (IPv4 inside IPv6 judged as IPv4).
enum NetworkScope {
    static func isPublic(_ address: SocketAddress) -> Bool {
        switch address {
        case .v4(let v4):
            var raw = v4.address.sin_addr.s_addr
            return isPublic(v4: withUnsafeBytes(of: &raw) { Array($0) })
        case .v6(let v6):
            var raw = v6.address.sin6_addr
            return isPublic(v6: withUnsafeBytes(of: &raw) { Array($0) })
        default: return false
        }
    }

    static func isPublic(v4 bytes: [UInt8]) -> Bool {
        guard bytes.count == 4 else { return false }
        let (a, b) = (bytes[0], bytes[1])
        switch a {
        case 0, 10, 127: return false
        case 100 where b & 0xC0 == 64: return false
        case 169 where b == 254: return false
        case 172 where b & 0xF0 == 16: return false
        case 192 where b == 168 || (b == 0 && (bytes[2] == 0 || bytes[2] == 2)): return false
        case 198 where b & 0xFE == 18 || (b == 51 && bytes[2] == 100): return false
        case 203 where b == 0 && bytes[2] == 113: return false
        case 224...: return false
        default: return true
        }
    }

    static func isPublic(v6 bytes: [UInt8]) -> Bool {
        guard bytes.count == 16 else { return false }
        if bytes[0..<10].allSatisfy({ $0 == 0 }) {
            // ::, ::1, and IPv4-compatible or IPv4-mapped (::ffff:a.b.c.d) addresses.
            if bytes[10] == 0xFF && bytes[11] == 0xFF { return isPublic(v4: Array(bytes[12...])) }
            return false
        }
        // NAT64 (64:ff9b::/96) and 6to4 (2002::/16) reach the IPv4 address inside.
        if bytes[0..<12] == [0, 0x64, 0xFF, 0x9B, 0, 0, 0, 0, 0, 0, 0, 0][...] {
            return isPublic(v4: Array(bytes[12...]))
        }
        if bytes[0] == 0x20, bytes[1] == 0x02 { return isPublic(v4: Array(bytes[2..<6])) }
        // Local-use NAT64 (64:ff9b:1::/48), Teredo (2001::/32), documentation (2001:db8::/32) and
        // discard-only (100::/64) prefixes lead nowhere QSPP should post to.
        if bytes[0..<6] == [0, 0x64, 0xFF, 0x9B, 0, 0x01][...] { return false }
        if bytes[0] == 0x20, bytes[1] == 0x01, bytes[2] == 0, bytes[3] == 0 { return false }
        if bytes[0] == 0x20, bytes[1] == 0x01, bytes[2] == 0x0D, bytes[3] == 0xB8 { return false }
        if bytes[0] == 0x01, bytes[1..<8].allSatisfy({ $0 == 0 }) { return false }
        if bytes[0] & 0xFE == 0xFC { return false }  // unique local
        if bytes[0] == 0xFE && bytes[1] & 0x80 == 0x80 { return false }  // link-local and the old site-local
        if bytes[0] == 0xFF { return false }  // multicast
        return true
    }
}
