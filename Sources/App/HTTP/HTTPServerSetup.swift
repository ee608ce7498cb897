import Hummingbird
import HummingbirdCore
import Logging
import NIOSSL
import Services

/// Plain HTTP/1.1, or TLS 1.3 with the post-quantum hybrid group first when a certificate is configured.
enum HTTPServerSetup {
    /// X25519MLKEM768 first; classical X25519 remains for clients without ML-KEM.
    static let groups: [NIOTLSCurve] = [.x25519_MLKEM768, .x25519]

    static func make(
        configuration: AppConfiguration, metrics: QSPPMetrics, logger: Logger
    ) throws
        -> HTTPServerBuilder
    {
        guard let certificateFile = configuration.server.tlsCertificateFile,
            let keyFile = configuration.server.tlsPrivateKeyFile
        else { return .http1() }
        var tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMFile(certificateFile).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(file: keyFile, format: .pem)))
        tls.minimumTLSVersion = .tlsv13
        tls.curves = groups
        logger.info("TLS 1.3 enabled", metadata: ["groups": "X25519MLKEM768,X25519"])
        let context = try NIOSSLContext(configuration: tls)
        return HTTPServerBuilder { responder in
            TLSServerChannel(
                base: HTTP1Channel(responder: responder), context: context, metrics: metrics, logger: logger)
        }
    }
}
