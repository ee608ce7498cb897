import Foundation

/// Where and how to submit mail, from a URL: `smtps://user:password@host:465` for implicit TLS, or
/// `smtp://user:password@host:587` for STARTTLS, which is then required: a server that does not offer
/// it gets nothing, so a stripped STARTTLS cannot downgrade the session to cleartext.
public struct SMTPSettings: Sendable, CustomStringConvertible {
    public enum Security: Sendable, Equatable {
        case implicitTLS
        case startTLS
    }

    public let host: String
    public let port: Int
    public let security: Security
    public let username: String?
    let password: String?
    /// PEM certificates to trust instead of the system's, for a relay with a private CA.
    public let trustRootsFile: String?
    /// The name given in EHLO.
    public let clientName: String
    /// How long any one step may wait for the server.
    public let timeout: Duration
    /// The longest one message can take: the connection, the TLS handshakes, and each reply of the
    /// session (greeting, EHLO twice, STARTTLS, AUTH LOGIN's three, MAIL, RCPT, DATA and its end) each
    /// wait at most `timeout`.
    public var longestMessage: Duration { timeout * 14 }

    public init(
        url: String, trustRootsFile: String? = nil, clientName: String? = nil, timeout: Duration = .seconds(30)
    ) throws(MailError) {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
            let host = components.host, !host.isEmpty, components.path.isEmpty || components.path == "/",
            components.query == nil, components.fragment == nil
        else { throw MailError(.invalidSettings) }
        switch scheme {
        case "smtps": security = .implicitTLS
        case "smtp": security = .startTLS
        default: throw MailError(.invalidSettings)
        }
        self.host = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        port = components.port ?? (security == .implicitTLS ? 465 : 587)
        guard (1...65_535).contains(port) else { throw MailError(.invalidSettings) }
        username = components.user?.removingPercentEncoding
        password = components.password?.removingPercentEncoding
        guard (username == nil) == (password == nil) else { throw MailError(.invalidSettings) }
        self.trustRootsFile = trustRootsFile
        self.clientName = clientName ?? Self.localName()
        self.timeout = timeout
    }

    /// The host and port and how they are secured; never the credentials.
    public var description: String {
        let scheme = security == .implicitTLS ? "smtps" : "smtp"
        let user = username == nil ? "" : "<credentials>@"
        return "\(scheme)://\(user)\(host.contains(":") ? "[\(host)]" : host):\(port)"
    }

    private static func localName() -> String {
        let name = ProcessInfo.processInfo.hostName
        let usable =
            !name.isEmpty
            && name.utf8.allSatisfy { byte in
                byte == UInt8(ascii: ".") || byte == UInt8(ascii: "-") || (0x30...0x39).contains(byte)
                    || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
            }
        return usable ? name : "[127.0.0.1]"
    }
}
