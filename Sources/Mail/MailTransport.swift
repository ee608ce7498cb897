/// Where a rendered message goes: an SMTP server, or a folder of `.eml` files.
public protocol MailTransport: Sendable {
    /// Returns once the message is accepted (by the server, or on disk); throws ``MailError`` otherwise.
    func send(_ message: MailMessage) async throws(MailError)
}
