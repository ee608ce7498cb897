import CNIOBoringSSL
import Logging
import NIOCore
import NIOSSL
import NIOTLS
import Services

/// Records which key-exchange group each TLS handshake negotiated, so operators can see in
/// `qspp_tls_handshakes_total{group=…}` how much traffic is post-quantum.
///
/// swift-nio-ssl does not expose the negotiated group, so this reads BoringSSL's `SSL *` through
/// reflection of the handler's private state. Should that layout change, the group is reported as
/// "unknown" rather than guessed.
final class TLSGroupObserver: ChannelInboundHandler, RemovableChannelHandler, Sendable {
    typealias InboundIn = NIOAny
    let metrics: QSPPMetrics
    let logger: Logger

    init(metrics: QSPPMetrics, logger: Logger) {
        self.metrics = metrics
        self.logger = logger
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .handshakeCompleted = event as? TLSUserEvent {
            let group = negotiatedGroup(context) ?? "unknown"
            metrics.tlsHandshake(group: group)
            logger.debug("TLS handshake", metadata: ["tls_group": .string(group)])
        }
        context.fireUserInboundEventTriggered(event)
    }

    private func negotiatedGroup(_ context: ChannelHandlerContext) -> String? {
        guard let handler = try? context.pipeline.syncOperations.handler(type: NIOSSLServerHandler.self) else {
            return nil
        }
        let mirror = Mirror(reflecting: handler)
        let connection = (mirror.superclassMirror ?? mirror).descendant("connection")
        guard let connection, let ssl = Mirror(reflecting: connection).descendant("ssl") as? OpaquePointer else {
            return nil
        }
        let id = SSL_get_group_id(ssl)
        guard id != 0, let name = SSL_get_group_name(id) else { return nil }
        return String(cString: name)
    }
}
