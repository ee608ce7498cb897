public import Mail

/// Where mail goes: to the SMTP server `QSPP_SMTP_URL` names, or else, the embedded default, into a
/// folder of `.eml` files, so that a portal with nothing configured still works from end to end.
public struct MailSettings: Sendable {
    public var smtp: SMTPSettings?
    /// `From:` of every message QSPP sends.
    public var sender: MailAddress
    public var directory = "./data/mail"

    public init() {
        // A literal that validates: the force is checked by every test that builds the defaults.
        sender = try! MailAddress("privacy@localhost", displayName: "QSPP")
    }

    public init(reader: SettingsReader) throws(InvalidSetting) {
        self.init()
        let qspp = reader.scoped(to: "qspp")
        let trustRoots = qspp.string("smtp.ca.file")
        smtp = try qspp.parsed("smtp.url", isSecret: true) { text in
            try SMTPSettings(url: text, trustRootsFile: trustRoots)
        }
        let address = qspp.string("mail.from") ?? sender.address
        let name = qspp.string("mail.from.name") ?? sender.displayName
        do {
            sender = try MailAddress(address, displayName: name)
        } catch {
            throw qspp.invalid(error.code == .invalidHeader ? "mail.from.name" : "mail.from", error.code.description)
        }
        directory = qspp.string("mail.directory") ?? directory
    }

    /// The transport these settings describe; throws when the relay's CA file cannot be read.
    public func transport() throws(MailError) -> any MailTransport {
        if let smtp { return try SMTPTransport(settings: smtp) }
        return MailDirectory(path: directory)
    }

    /// Where mail goes, for the start-up log: never the credentials.
    public var destination: String {
        smtp.map { "\($0)" } ?? "\(directory) (.eml files: no SMTP server is configured)"
    }
}
