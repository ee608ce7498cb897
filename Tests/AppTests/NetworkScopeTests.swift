import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Outbox
import Synchronization
import Testing

@testable import App

/// Which addresses a back-channel logout may reach when private networks are not allowed: the check
/// made at connect time, on the very address the connection then uses.
@Suite("Network scope")
struct NetworkScopeTests {
    @Test func privateLoopbackAndSpecialAddressesAreRefused() throws {
        for text in [
            "127.0.0.1", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1", "169.254.169.254", "100.64.0.1",
            "0.0.0.0", "192.0.0.1", "198.18.0.1", "224.0.0.1", "255.255.255.255", "::1", "::", "fe80::1", "fd00::1",
            "fc00::1", "ff02::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "64:ff9b::a00:1", "192.0.2.1", "198.51.100.7",
            "203.0.113.9", "2002:a00:1::1", "2002:7f00:1::", "64:ff9b:1::1", "2001::1", "2001:db8::1", "100::1",
            "fec0::1",
        ] {
            let address = try SocketAddress(ipAddress: text, port: 443)
            #expect(!NetworkScope.isPublic(address), "\(text)")
            #expect(NetworkScope.isPublic(literal: text) == false, "\(text) as a literal")
            #expect(NetworkScope.isPublic(literal: "[\(text)]") == false, "[\(text)] as a literal")
        }
    }

    @Test func publicAddressesAreAllowed() throws {
        for text in [
            "93.184.216.34", "8.8.8.8", "172.32.0.1", "172.15.255.255", "100.128.0.1", "192.169.0.1", "2606:4700::1",
            "::ffff:93.184.216.34", "64:ff9b::808:808", "2002:5db8:d822::1",
        ] {
            let address = try SocketAddress(ipAddress: text, port: 443)
            #expect(NetworkScope.isPublic(address), "\(text)")
            #expect(NetworkScope.isPublic(literal: text) == true, "\(text) as a literal")
        }
    }

    @Test func namesAreNotLiterals() {
        for name in ["example.com", "localhost", "127.0.0.1.nip.io", "1.2.3", "::g", ""] {
            #expect(NetworkScope.isPublic(literal: name) == nil, "\(name)")
        }
    }

    /// The posts to endpoints others registered (back-channel logout, webhooks): an address inside is
    /// refused before anything is sent, named or literal, and a redirect is answered, never followed.
    @Test func guardedPostsReachNothingInsideAndFollowNoRedirect() async throws {
        let hits = Mutex<[String]>([])
        let router = Router()
        router.post("/hook") { request, _ -> Response in
            hits.withLock { $0.append(request.headers[HTTPField.Name("X-Test")!] ?? "") }
            return Response(status: .found, headers: [.location: "/elsewhere"])
        }
        router.post("/elsewhere") { _, _ -> HTTPResponse.Status in
            hits.withLock { $0.append("followed") }
            return .ok
        }
        try await Application(router: router).test(.live) { client in
            let port = try #require(client.port)
            let guarded = GuardedHTTPPost(allowsPrivateNetworks: false)
            for url in ["http://127.0.0.1:\(port)/hook", "http://localhost:\(port)/hook"] {
                do {
                    _ = try await guarded.post(ByteBuffer(string: "{}"), headers: [("X-Test", "guarded")], to: url)
                    Issue.record("\(url) was reached")
                } catch let error as DeliveryFailure {
                    #expect(error.permanent && error.reason == "the endpoint resolves to a private address", "\(url)")
                }
            }
            #expect(hits.withLock { $0 }.isEmpty, "nothing was sent inside")

            let open = GuardedHTTPPost(allowsPrivateNetworks: true)
            let status = try await open.post(
                ByteBuffer(string: "{}"), headers: [("X-Test", "open")], to: "http://127.0.0.1:\(port)/hook")
            #expect(status == 302)
            #expect(hits.withLock { $0 } == ["open"], "the redirect was not followed")
            await open.clients.shutdown()
            await guarded.clients.shutdown()
        }
    }
}
