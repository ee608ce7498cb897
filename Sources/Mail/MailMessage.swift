import Foundation

/// One message: a plain-text body and, optionally, an HTML alternative of it.
public struct MailMessage: Sendable {
    public let from: MailAddress
    public let to: [MailAddress]
    public let subject: String
    public let text: String
    public let html: String?
    public let date: Date
    /// `<random@sender's domain>`, unique per message, so a retried delivery can be recognised.
    public let messageID: String

    public init(
        from: MailAddress, to: [MailAddress], subject: String, text: String, html: String? = nil,
        date: Date = Date(), messageID: String? = nil
    ) throws(MailError) {
        guard !to.isEmpty else { throw MailError(.noRecipients) }
        guard subject.count <= 500, MailHeader.isSafe(subject) else { throw MailError(.invalidHeader) }
        let messageID = messageID ?? "<\(UUID().uuidString.lowercased())@\(from.domain)>"
        guard MailHeader.isSafe(messageID), messageID.utf8.allSatisfy({ $0 < 0x80 && $0 != UInt8(ascii: " ") }),
            messageID.hasPrefix("<"), messageID.hasSuffix(">"), messageID.count <= 250
        else { throw MailError(.invalidHeader) }
        self.from = from
        self.to = to
        self.subject = subject
        self.text = text
        self.html = html
        self.date = date
        self.messageID = messageID
    }
}
