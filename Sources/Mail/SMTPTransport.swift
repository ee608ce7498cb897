import Foundation
import NIOCore
import NIOPosix
import NIOSSL

/// Submits each message over a connection of its own (RFC 5321 and RFC 6409): greeting, EHLO,
/// STARTTLS where asked, AUTH PLAIN or LOGIN, then one mail transaction and QUIT.
public struct SMTPTransport: MailTransport {
    public let settings: SMTPSettings
    private let tls: NIOSSLContext
    private let group: any EventLoopGroup

    public init(
        settings: SMTPSettings, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) throws(MailError) {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        configuration.certificateVerification = .fullVerification
        do {
            if let file = settings.trustRootsFile {
                configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(file))
            }
            tls = try NIOSSLContext(configuration: configuration)
        } catch {
            throw MailError(.invalidSettings)
        }
        self.settings = settings
        self.group = group
    }

    public func send(_ message: MailMessage) async throws(MailError) {
        let timeout = TimeAmount.nanoseconds(Int64(settings.timeout.components.seconds) * 1_000_000_000)
        let connection: SMTPConnection
        do {
            connection = try await SMTPConnection.connect(
                host: settings.host, port: settings.port, tls: settings.security == .implicitTLS ? tls : nil,
                timeout: timeout, group: group)
        } catch let error as MailError {
            throw error
        } catch {
            throw MailError(.connectionFailed)
        }
        do {
            try await deliver(message, over: connection)
        } catch {
            await connection.close()
            throw error
        }
        // The message is accepted once DATA is answered; QUIT is a courtesy whose failure changes nothing.
        _ = try? await connection.command("QUIT")
        await connection.close()
    }

    private func deliver(_ message: MailMessage, over connection: SMTPConnection) async throws(MailError) {
        try expect(try await connection.reply(), 220, step: "greeting")
        var extensions = try await hello(connection)
        if settings.security == .startTLS {
            guard extensions.keys.contains("STARTTLS") else { throw MailError(.tlsNotOffered) }
            try expect(try await connection.command("STARTTLS"), 220, step: "STARTTLS")
            try await connection.startTLS(tls, host: settings.host)
            // RFC 3207 §4.2: everything learnt before TLS is forgotten and asked again.
            extensions = try await hello(connection)
        }
        if let username = settings.username, let password = settings.password {
            guard connection.isEncrypted else { throw MailError(.tlsRequiredForAuthentication) }
            try await authenticate(
                connection, username: username, password: password, offered: extensions["AUTH"] ?? [])
        }
        try expect(try await connection.command("MAIL FROM:<\(message.from.address)>"), 250, step: "MAIL")
        for recipient in message.to {
            let reply = try await connection.command("RCPT TO:<\(recipient.address)>")
            guard reply.code == 250 || reply.code == 251 else {
                throw MailError(.rejected, step: "RCPT", replyCode: reply.code)
            }
        }
        try expect(try await connection.command("DATA"), 354, step: "DATA")
        try await connection.write(ByteBuffer(string: Self.dotStuffed(message.rendered())))
        try expect(try await connection.reply(), 250, step: "end of data")
    }

    /// EHLO, and the extensions the server lists, by keyword, with their parameters.
    private func hello(_ connection: SMTPConnection) async throws(MailError) -> [String: [String]] {
        let reply = try await connection.command("EHLO \(settings.clientName)")
        try expect(reply, 250, step: "EHLO")
        var extensions: [String: [String]] = [:]
        for line in reply.lines.dropFirst() {
            // Some servers still write `AUTH=PLAIN LOGIN`, as before RFC 4954.
            let words = line.uppercased().split(whereSeparator: { $0 == " " || $0 == "=" }).map(String.init)
            guard let keyword = words.first else { continue }
            extensions[keyword, default: []] += words.dropFirst()
        }
        return extensions
    }

    private func authenticate(
        _ connection: SMTPConnection, username: String, password: String, offered: [String]
    ) async throws(MailError) {
        let reply: SMTPReply
        if offered.contains("PLAIN") {
            let token = Data(([0] + Array(username.utf8) + [0] + Array(password.utf8))).base64EncodedString()
            reply = try await connection.command("AUTH PLAIN " + token)
        } else if offered.contains("LOGIN") {
            try expect(try await connection.command("AUTH LOGIN"), 334, step: "AUTH")
            try expect(try await connection.command(Data(username.utf8).base64EncodedString()), 334, step: "AUTH")
            reply = try await connection.command(Data(password.utf8).base64EncodedString())
        } else {
            throw MailError(.noAuthenticationMechanism)
        }
        guard reply.code == 235 else { throw MailError(.authenticationRejected, step: "AUTH", replyCode: reply.code) }
    }

    private func expect(_ reply: SMTPReply, _ code: Int, step: String) throws(MailError) {
        guard reply.code == code else {
            throw MailError(reply.code >= 400 ? .rejected : .protocolViolation, step: step, replyCode: reply.code)
        }
    }

    /// RFC 5321 §4.5.2: a line that begins with a dot gets another, and the data ends with a lone dot.
    static func dotStuffed(_ rendered: String) -> String {
        var lines = rendered.components(separatedBy: "\r\n")
        if lines.last == "" { lines.removeLast() }
        return lines.map { $0.hasPrefix(".") ? "." + $0 : $0 }.joined(separator: "\r\n") + "\r\n.\r\n"
    }
}
