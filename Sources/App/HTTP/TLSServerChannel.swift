import HummingbirdCore
import Logging
import NIOCore
import NIOSSL
import NIOTLS
import Services

/// Records which key-exchange group each TLS handshake negotiated, so operators can see in
/// `qspp_tls_handshakes_total{group=…}` how much traffic is post-quantum. The group is read from the
/// server's own ServerHello (``ServerHelloParser``) by a handler in front of the TLS handler, and
/// counted by one behind it once the handshake completes.
struct TLSServerChannel<Base: ServerChildChannel>: ServerChildChannel {
    typealias Value = Base.Value
    let base: Base
    let context: NIOSSLContext
    let metrics: QSPPMetrics
    let logger: Logger

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            let group = NegotiatedGroup()
            let pipeline = channel.pipeline.syncOperations
            try pipeline.addHandler(ServerHelloSniffer(group: group))
            try pipeline.addHandler(NIOSSLServerHandler(context: context))
            try pipeline.addHandler(HandshakeCounter(group: group, metrics: metrics, logger: self.logger))
        }.flatMap {
            base.setup(channel: channel, logger: logger)
        }
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}

extension TLSServerChannel: HTTPChannelHandler where Base: HTTPChannelHandler {
    var responder: HTTPChannelHandler.Responder { base.responder }
}

/// What one connection's ServerHello said; both handlers of a connection run on its event loop.
final class NegotiatedGroup {
    var name: String?
}

/// Reads the outbound bytes until the ServerHello has gone by, then leaves the pipeline once what it
/// saw is flushed (leaving in the middle of a write would strand the flush that follows it).
final class ServerHelloSniffer: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    private let group: NegotiatedGroup
    private var parser: ServerHelloParser? = ServerHelloParser()

    init(group: NegotiatedGroup) {
        self.group = group
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if var search = parser {
            switch search.feed(unwrapOutboundIn(data).readableBytesView) {
            case .needMore: parser = search
            case .group(let code):
                group.name = ServerHelloParser.name(of: code)
                parser = nil
            case .unknown:
                group.name = "unknown"
                parser = nil
            }
        }
        context.write(data, promise: promise)
    }

    func flush(context: ChannelHandlerContext) {
        context.flush()
        if parser == nil { context.pipeline.syncOperations.removeHandler(context: context, promise: nil) }
    }
}

/// Counts a completed handshake under the group its ServerHello named.
final class HandshakeCounter: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny
    private let group: NegotiatedGroup
    private let metrics: QSPPMetrics
    private let logger: Logger

    init(group: NegotiatedGroup, metrics: QSPPMetrics, logger: Logger) {
        self.group = group
        self.metrics = metrics
        self.logger = logger
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .handshakeCompleted = event as? TLSUserEvent {
            let name = group.name ?? "unknown"
            metrics.tlsHandshake(group: name)
            logger.debug("TLS handshake", metadata: ["tls_group": .string(name)])
        }
        context.fireUserInboundEventTriggered(event)
    }
}
