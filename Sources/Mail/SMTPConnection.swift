import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL

/// Frames server bytes into replies. The client never pipelines commands, so a server that sends
/// anything after a complete reply, before the next command, is refused: that is how a reply injected
/// in the clear before STARTTLS would otherwise be read as if it had come over TLS.
struct SMTPReplyDecoder: ByteToMessageDecoder {
    typealias InboundOut = SMTPReply
    private var parser = SMTPReplyParser()

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let newline = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) else {
            guard buffer.readableBytes <= SMTPReplyParser.maximumLineLength else { throw MailError(.protocolViolation) }
            return .needMoreData
        }
        var line = buffer.readSlice(length: newline - buffer.readerIndex + 1)!.readableBytesView.dropLast()
        if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
        if let reply = try parser.consume(line: line) {
            guard buffer.readableBytes == 0 else { throw MailError(.protocolViolation) }
            context.fireChannelRead(Self.wrapInboundOut(reply))
        }
        return .continue
    }

    mutating func decodeLast(
        context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool
    ) throws
        -> DecodingState
    {
        while try decode(context: context, buffer: &buffer) == .continue {}
        return .needMoreData
    }
}

/// Hands replies, and the end of the connection, to the task driving the session.
final class SMTPReplyForwarder: ChannelInboundHandler, Sendable {
    typealias InboundIn = SMTPReply
    let continuation: AsyncThrowingStream<SMTPReply, any Error>.Continuation
    /// The first failure the channel reported: a write that fails after a failed handshake then
    /// reports the handshake, not the closed channel it left.
    let firstFailure = NIOLockedValueBox<MailError?>(nil)

    init(_ continuation: AsyncThrowingStream<SMTPReply, any Error>.Continuation) {
        self.continuation = continuation
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        continuation.yield(Self.unwrapInboundIn(data))
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            continuation.finish(throwing: MailError(.timedOut))
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let failure = MailError(channelError: error)
        firstFailure.withLockedValue { $0 = $0 ?? failure }
        continuation.finish(throwing: failure)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        continuation.finish(throwing: MailError(.connectionClosed))
    }
}

/// One TCP connection to an SMTP server, read one reply at a time by one task.
final class SMTPConnection {
    private let channel: any Channel
    private let forwarder: SMTPReplyForwarder
    private var replies: AsyncThrowingStream<SMTPReply, any Error>.AsyncIterator
    private(set) var isEncrypted: Bool

    private init(
        channel: any Channel, forwarder: SMTPReplyForwarder, replies: AsyncThrowingStream<SMTPReply, any Error>,
        isEncrypted: Bool
    ) {
        self.channel = channel
        self.forwarder = forwarder
        self.replies = replies.makeAsyncIterator()
        self.isEncrypted = isEncrypted
    }

    /// Connects, with TLS from the first byte when `tls` is given (implicit TLS, port 465).
    static func connect(
        host: String, port: Int, tls: NIOSSLContext?, timeout: TimeAmount, group: any EventLoopGroup
    ) async throws -> SMTPConnection {
        let (replies, continuation) = AsyncThrowingStream<SMTPReply, any Error>.makeStream()
        let serverHostname = Self.serverHostname(host)
        let forwarder = SMTPReplyForwarder(continuation)
        let channel: any Channel
        do {
            channel = try await ClientBootstrap(group: group)
                .connectTimeout(timeout)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        if let tls {
                            try channel.pipeline.syncOperations.addHandler(
                                NIOSSLClientHandler(context: tls, serverHostname: serverHostname))
                        }
                        try channel.pipeline.syncOperations.addHandlers(
                            IdleStateHandler(readTimeout: timeout),
                            ByteToMessageHandler(SMTPReplyDecoder()),
                            forwarder)
                    }
                }
                .connect(host: host, port: port).get()
        } catch {
            continuation.finish()
            throw MailError(.connectionFailed)
        }
        return SMTPConnection(channel: channel, forwarder: forwarder, replies: replies, isEncrypted: tls != nil)
    }

    /// SNI takes names only; an address is verified against the certificate's IP entries instead.
    private static func serverHostname(_ host: String) -> String? {
        (try? SocketAddress(ipAddress: host, port: 0)) == nil ? host : nil
    }

    func reply() async throws(MailError) -> SMTPReply {
        do {
            guard let reply = try await replies.next() else { throw MailError(.connectionClosed) }
            return reply
        } catch {
            throw MailError(channelError: error)
        }
    }

    /// Sends one command line (CRLF is added) and returns the server's reply.
    func command(_ line: String) async throws(MailError) -> SMTPReply {
        try await write(ByteBuffer(string: line + "\r\n"))
        return try await reply()
    }

    func write(_ buffer: ByteBuffer) async throws(MailError) {
        do {
            try await channel.writeAndFlush(buffer)
        } catch {
            throw forwarder.firstFailure.withLockedValue { $0 } ?? MailError(channelError: error)
        }
    }

    /// After the server's 220 to STARTTLS: TLS goes in front of everything, before another byte moves.
    func startTLS(_ tls: NIOSSLContext, host: String) async throws(MailError) {
        let serverHostname = Self.serverHostname(host)
        do {
            try await channel.eventLoop.submit { [channel] in
                try channel.pipeline.syncOperations.addHandler(
                    NIOSSLClientHandler(context: tls, serverHostname: serverHostname), position: .first)
            }.get()
        } catch {
            throw MailError(.protocolViolation)
        }
        isEncrypted = true
    }

    func close() async {
        try? await channel.close()
    }
}

extension MailError {
    /// What a failure on the channel means: a failed handshake (writes pending behind it fail with the
    /// same error) is a TLS failure, anything else a lost connection.
    init(channelError error: any Error) {
        if let error = error as? MailError {
            self = error
        } else if error is NIOSSLError || error is BoringSSLError || error is NIOSSLExtraError {
            self.init(.tlsFailed)
        } else {
            self.init(.connectionClosed)
        }
    }
}
