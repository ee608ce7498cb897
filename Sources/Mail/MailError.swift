/// Why mail could not be built or sent. Its text names the step and the server's reply code, never an
/// address, a password, a body or the server's reply text (which may echo an address).
public struct MailError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: Sendable, Hashable {
            case invalidAddress, invalidHeader, noRecipients, invalidSettings
            case connectionFailed, timedOut, connectionClosed, protocolViolation
            case tlsNotOffered, tlsFailed, tlsRequiredForAuthentication, noAuthenticationMechanism
            case authenticationRejected, rejected, storageFailed
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        public static let invalidAddress = Code(.invalidAddress)
        public static let invalidHeader = Code(.invalidHeader)
        public static let noRecipients = Code(.noRecipients)
        public static let invalidSettings = Code(.invalidSettings)
        public static let connectionFailed = Code(.connectionFailed)
        public static let timedOut = Code(.timedOut)
        public static let connectionClosed = Code(.connectionClosed)
        public static let protocolViolation = Code(.protocolViolation)
        /// The server did not offer STARTTLS: nothing is sent in the clear instead.
        public static let tlsNotOffered = Code(.tlsNotOffered)
        /// The TLS handshake failed: most often, the server's certificate did not verify.
        public static let tlsFailed = Code(.tlsFailed)
        public static let tlsRequiredForAuthentication = Code(.tlsRequiredForAuthentication)
        public static let noAuthenticationMechanism = Code(.noAuthenticationMechanism)
        public static let authenticationRejected = Code(.authenticationRejected)
        /// The server refused a step of the transaction with a 4xx or 5xx reply.
        public static let rejected = Code(.rejected)
        public static let storageFailed = Code(.storageFailed)

        public var description: String {
            switch base {
            case .invalidAddress: "not a mail address this server can send to"
            case .invalidHeader: "a header value holds a line break or a control character"
            case .noRecipients: "a message needs at least one recipient"
            case .invalidSettings: "the SMTP settings are not usable"
            case .connectionFailed: "the SMTP server could not be reached"
            case .timedOut: "the SMTP server did not answer in time"
            case .connectionClosed: "the SMTP server closed the connection"
            case .protocolViolation: "the SMTP server's reply broke the protocol"
            case .tlsNotOffered: "the SMTP server did not offer STARTTLS"
            case .tlsFailed: "TLS with the SMTP server failed (is its certificate trusted?)"
            case .tlsRequiredForAuthentication: "credentials are only sent over TLS"
            case .noAuthenticationMechanism: "the SMTP server offers neither AUTH PLAIN nor AUTH LOGIN"
            case .authenticationRejected: "the SMTP server refused the credentials"
            case .rejected: "the SMTP server refused the message"
            case .storageFailed: "the message could not be stored"
            }
        }
    }

    public let code: Code
    /// The step the server refused (`MAIL`, `RCPT`, `DATA`, ...), when it refused one.
    public let step: String?
    /// The server's reply code, when a reply caused this.
    public let replyCode: Int?

    public init(_ code: Code, step: String? = nil, replyCode: Int? = nil) {
        self.code = code
        self.step = step
        self.replyCode = replyCode
    }

    /// Whether trying again later cannot help: the message or the settings are wrong, or the server
    /// answered with a permanent (5xx) refusal. Everything else is worth a retry.
    public var isPermanent: Bool {
        switch code {
        case .invalidAddress, .invalidHeader, .noRecipients, .invalidSettings: true
        case .rejected, .authenticationRejected: (replyCode ?? 0) >= 500
        default: false
        }
    }

    public var description: String {
        var text = code.description
        if let step { text += " at \(step)" }
        if let replyCode { text += " (reply \(replyCode))" }
        return text
    }
}
