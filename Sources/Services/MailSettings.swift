public import Foundation
public import Mail
public import Outbox

/// Where mail goes: to the SMTP server `QSPP_SMTP_URL` names, or else, the embedded default, into a
/// folder of `.eml` files, so that a portal with nothing configured still works from end to end.
public struct MailSettings: Sendable {
    public var smtp: SMTPSettings?
    /// `From:` of every message QSPP sends.
    public var sender: MailAddress
    public var directory = "./data/mail"
    /// When a failed message is tried again, and after how many attempts it is dead.
    public var retry = OutboxRetryPolicy()

    public init() {
        // A literal that validates: the force is checked by every test that builds the defaults.
        sender = try! MailAddress("privacy@localhost", displayName: "QSPP")
    }

    public init(reader: SettingsReader) throws(InvalidSetting) {
        self.init()
        let qspp = reader.scoped(to: "qspp")
        let trustRoots = qspp.string("smtp.ca.file")
        let timeout = try qspp.integer("smtp.timeout", atLeast: 1, atMost: 300, of: "seconds", default: 30)
        smtp = try qspp.parsed("smtp.url", isSecret: true) { text in
            try SMTPSettings(url: text, trustRootsFile: trustRoots, timeout: .seconds(timeout))
        }
        let address = qspp.string("mail.from") ?? sender.address
        let name = qspp.string("mail.from.name") ?? sender.displayName
        do {
            sender = try MailAddress(address, displayName: name)
        } catch {
            throw qspp.invalid(error.code == .invalidHeader ? "mail.from.name" : "mail.from", error.code.description)
        }
        directory = qspp.string("mail.directory") ?? directory
        retry.maximumAttempts = try qspp.integer(
            "mail.max.attempts", atLeast: 1, atMost: 100, default: retry.maximumAttempts)
    }

    /// The transport these settings describe; throws when the relay's CA file cannot be read.
    public func transport() throws(MailError) -> any MailTransport {
        if let smtp { return try SMTPTransport(settings: smtp) }
        return MailDirectory(path: directory)
    }

    /// How long a sender holds the messages it leased: longer than sending one can take, so no other
    /// replica sends it meanwhile; and the longest a message leased by a replica that died waits.
    public var leaseDuration: TimeInterval {
        let longest = smtp?.longestMessage ?? .seconds(4)
        return TimeInterval(longest.components.seconds) + 1
    }

    /// Where mail goes, for the start-up log: never the credentials.
    public var destination: String {
        smtp.map { "\($0)" } ?? "\(directory) (.eml files: no SMTP server is configured)"
    }
}
