import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOSSL
import QSPPTestSupport
import Testing

/// Debian's OpenSSL and curl cannot speak X25519MLKEM768, so a NIOSSL client does.
@Suite("Hybrid post-quantum TLS")
struct TLSTests {
    @Test func aClientOfferingOnlyX25519MLKEM768Connects() async throws {
        let directory = temporaryPath("qspp-tls", extension: "d")
        try await shell("'\(ServerProcess.binary)' dev-cert --output '\(directory)'")
        try await withApp(
            .sqlite,
            configure: {
                $0.server.tlsCertificateFile = directory + "/cert.pem"
                $0.server.tlsPrivateKeyFile = directory + "/key.pem"
                $0.server.port = 0
            },
            testing: .live
        ) { api in
            let port = try #require(api.client.port)
            func client(groups: [NIOTLSCurve], maximumVersion: TLSVersion = .tlsv13) -> TestClient.Configuration {
                var tls = TLSConfiguration.makeClientConfiguration()
                tls.certificateVerification = .none
                tls.curves = groups
                tls.maximumTLSVersion = maximumVersion
                return TestClient.Configuration(tlsConfiguration: tls, serverName: "localhost")
            }
            let health = try await TestClient.withClient(
                host: "127.0.0.1", port: port, configuration: client(groups: [.x25519_MLKEM768])
            ) {
                try await $0.execute(.init("/health", method: .get))
            }
            #expect(health.status == .ok)
            let metrics = try await TestClient.withClient(
                host: "127.0.0.1", port: port, configuration: client(groups: [.x25519_MLKEM768, .x25519])
            ) {
                try await $0.execute(.init("/metrics", method: .get))
            }
            let text = metrics.body.map { String(buffer: $0) } ?? ""
            #expect(text.contains(#"qspp_tls_handshakes_total{group="X25519MLKEM768"} 2"#), "\(text)")
            // The server takes nothing weaker than TLS 1.3, and no group outside its list.
            await #expect(throws: (any Error).self) {
                try await TestClient.withClient(
                    host: "127.0.0.1", port: port, configuration: client(groups: [.secp256r1])
                ) {
                    try await $0.execute(.init("/health", method: .get))
                }
            }
            await #expect(throws: (any Error).self) {
                try await TestClient.withClient(
                    host: "127.0.0.1", port: port, configuration: client(groups: [.x25519], maximumVersion: .tlsv12)
                ) {
                    try await $0.execute(.init("/health", method: .get))
                }
            }
        }
    }
}
