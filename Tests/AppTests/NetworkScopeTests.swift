import NIOCore
import Outbox
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
}
