import Foundation
import Hummingbird

#if canImport(Glibc)
    import Glibc
#endif

/// An IP network, `192.0.2.0/24` or `2001:db8::/32`; a bare address is a network of one.
struct IPNetwork: Sendable, Equatable {
    let bytes: [UInt8]
    let prefixLength: Int

    init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1).map(String.init)
        guard let bytes = Self.parse(parts[0]) else { return nil }
        let maximum = bytes.count * 8
        let length = parts.count == 2 ? Int(parts[1]) : maximum
        guard let length, (0...maximum).contains(length) else { return nil }
        self.bytes = bytes
        self.prefixLength = length
    }

    func contains(_ address: [UInt8]) -> Bool {
        guard address.count == bytes.count else { return false }
        var remaining = prefixLength
        for index in bytes.indices where remaining > 0 {
            let bits = min(8, remaining)
            let mask = UInt8(truncatingIfNeeded: 0xFF << (8 - bits))
            if address[index] & mask != bytes[index] & mask { return false }
            remaining -= bits
        }
        return true
    }

    /// The address's bytes: 4 for IPv4, 16 for IPv6; IPv4-mapped IPv6 addresses count as IPv4.
    static func parse(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, text, &v6) == 1 else { return nil }
        let bytes = withUnsafeBytes(of: &v6) { Array($0) }
        if bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xFF, bytes[11] == 0xFF { return Array(bytes[12...]) }
        return bytes
    }
}

/// Who the client is when requests arrive through reverse proxies: the TCP peer, unless the peer is a
/// trusted proxy (`QSPP_TRUSTED_PROXIES`); then the nearest address in `X-Forwarded-For` that is not
/// itself a trusted proxy. Anything else in the header is ignored, since a client can write it.
struct ClientAddressResolver: Sendable {
    let trusted: [IPNetwork]

    func resolve(peer: String?, forwardedFor: String?) -> String? {
        guard let peer, let forwardedFor, isTrusted(peer) else { return peer }
        var nearest = peer
        for hop in forwardedFor.split(separator: ",").reversed() {
            let address = hop.trimmingCharacters(in: .whitespaces)
            // A malformed hop means the chain cannot be read: keep the last address known good.
            guard IPNetwork.parse(address) != nil else { return nearest }
            nearest = address
            if !isTrusted(address) { return address }
        }
        return nearest
    }

    private func isTrusted(_ address: String) -> Bool {
        guard let bytes = IPNetwork.parse(address) else { return false }
        return trusted.contains { $0.contains(bytes) }
    }
}

/// Sets the request context's client address, which rate limits, sessions and audit records use.
struct ClientAddressMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let resolver: ClientAddressResolver

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        var context = context
        if !resolver.trusted.isEmpty {
            context.forwardedClientAddress = resolver.resolve(
                peer: context.remoteAddress?.ipAddress, forwardedFor: request.headers[.xForwardedFor])
        }
        return try await next(request, context)
    }
}
