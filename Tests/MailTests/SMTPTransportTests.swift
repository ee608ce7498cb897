import Foundation
import QSPPTestSupport
import Testing

@testable import Mail

/// Submission to a real SMTP server (aiosmtpd), over STARTTLS and implicit TLS, with the server's
/// certificate verified and the downgrades a network attacker would try refused.
@Suite(.serialized)
struct SMTPTransportTests {
    static func message(to recipients: [String] = ["ana@example.com"]) throws -> MailMessage {
        try MailMessage(
            from: MailAddress("privacy@example.org", displayName: "QSPP"),
            to: recipients.map { try MailAddress($0) }, subject: "Réinitialiser votre mot de passe",
            text: "Bonjour,\n.\nUne ligne qui commence par un point:\n.hidden", html: "<p>Bonjour</p>")
    }

    static func transport(
        _ server: SMTPServerProcess, scheme: String, password: String = "s3cret%20pass"
    ) throws
        -> SMTPTransport
    {
        try SMTPTransport(
            settings: SMTPSettings(
                url: "\(scheme)://mailer:\(password)@localhost:\(server.port)",
                trustRootsFile: server.certificate.certificate, timeout: .seconds(10)))
    }

    @Test(arguments: ["starttls", "starttls-login", "implicit"])
    func aMessageArrivesWholeOverTLS(mode: String) async throws {
        let server = try SMTPServerProcess(mode: mode)
        let message = try Self.message(to: ["ana@example.com", "bob@example.net"])
        try await Self.transport(server, scheme: mode == "implicit" ? "smtps" : "smtp").send(message)
        let received = try server.messages()
        try #require(received.count == 1)
        #expect(received[0].tls)
        #expect(received[0].login == "mailer")
        #expect(received[0].mailFrom == "privacy@example.org")
        #expect(received[0].rcptTos == ["ana@example.com", "bob@example.net"])
        // What the server stored, after undoing the dot-stuffing, is exactly the message as rendered,
        // and Python's email package reads the text back, leading dots included.
        let parsed = try parsedByPython(received[0].data)
        #expect(parsed.subject == "Réinitialiser votre mot de passe")
        #expect(parsed.messageId == message.messageID)
        #expect(parsed.parts["text/plain"] == "Bonjour,\r\n.\r\nUne ligne qui commence par un point:\r\n.hidden")
        #expect(parsed.defects == [])
    }

    @Test func aWrongPasswordIsRejectedWithoutRepeatingIt() async throws {
        let server = try SMTPServerProcess(mode: "starttls")
        let error = await #expect(throws: MailError.self) {
            try await Self.transport(server, scheme: "smtp", password: "guessed-wrong").send(try Self.message())
        }
        #expect(error?.code == .authenticationRejected)
        #expect(error?.replyCode == 535)
        #expect(error?.isPermanent == true)
        let text = error.map(String.init(describing:)) ?? ""
        #expect(!text.contains("guessed"))
        #expect(try server.messages().isEmpty)
    }

    /// Without the relay's CA, the self-signed certificate does not verify and nothing is sent.
    @Test(arguments: ["starttls", "implicit"])
    func anUntrustedCertificateIsRefused(mode: String) async throws {
        let server = try SMTPServerProcess(mode: mode)
        let transport = try SMTPTransport(
            settings: SMTPSettings(
                url: "\(mode == "implicit" ? "smtps" : "smtp")://mailer:s3cret%20pass@localhost:\(server.port)",
                timeout: .seconds(10)))
        let error = await #expect(throws: MailError.self) { try await transport.send(try Self.message()) }
        #expect(error?.code == .tlsFailed)
        #expect(error?.isPermanent == false)
        #expect(try server.messages().isEmpty)
    }

    /// The certificate names `localhost` only: reached by its address, the server is not the one it
    /// vouches for.
    @Test func aCertificateForAnotherNameIsRefused() async throws {
        let server = try SMTPServerProcess(mode: "implicit")
        let transport = try SMTPTransport(
            settings: SMTPSettings(
                url: "smtps://mailer:s3cret%20pass@127.0.0.1:\(server.port)",
                trustRootsFile: server.certificate.certificate, timeout: .seconds(10)))
        let error = await #expect(throws: MailError.self) { try await transport.send(try Self.message()) }
        #expect(error?.code == .tlsFailed)
        #expect(try server.messages().isEmpty)
    }

    /// A server, or a network attacker, that strips STARTTLS gets neither the credentials nor the mail.
    @Test func aMissingSTARTTLSIsNotADowngrade() async throws {
        let server = try SMTPServerProcess(mode: "no-starttls")
        let error = await #expect(throws: MailError.self) {
            try await Self.transport(server, scheme: "smtp").send(try Self.message())
        }
        #expect(error?.code == .tlsNotOffered)
        #expect(try server.messages().isEmpty)
    }

    /// Replies sent in the clear right after STARTTLS's 220 (the STARTTLS command-injection class, here
    /// against the client) are refused, not read as if they had come over TLS.
    @Test func repliesInjectedBeforeTLSAreRefused() async throws {
        let server = try SMTPServerProcess(mode: "inject")
        let error = await #expect(throws: MailError.self) {
            try await Self.transport(server, scheme: "smtp").send(try Self.message())
        }
        #expect(error?.code == .protocolViolation)
    }

    @Test func nothingListensIsARetryableFailure() async throws {
        let transport = try SMTPTransport(settings: SMTPSettings(url: "smtp://127.0.0.1:1", timeout: .seconds(5)))
        let error = await #expect(throws: MailError.self) { try await transport.send(try Self.message()) }
        #expect(error?.code == .connectionFailed)
        #expect(error?.isPermanent == false)
    }

    @Test(arguments: [
        "http://host", "smtp://", "smtp://user@host", "smtp://host/path", "smtp://host?x=1", "smtp://host:0",
        "smtp://host:70000", "not a url",
    ])
    func unusableSettingsAreRefused(url: String) {
        #expect(throws: MailError(.invalidSettings)) { try SMTPSettings(url: url) }
    }

    @Test func settingsNeverShowTheirPassword() throws {
        let settings = try SMTPSettings(url: "smtps://mailer:hunter2%21@mail.example.org")
        #expect(settings.port == 465)
        #expect(settings.security == .implicitTLS)
        #expect(settings.password == "hunter2!")
        #expect(settings.description == "smtps://<credentials>@mail.example.org:465")
        #expect(try SMTPSettings(url: "smtp://mail.example.org").port == 587)
    }
}

/// The embedded default's folder of `.eml` files.
struct MailDirectoryTests {
    @Test func eachMessageIsAPrivateFileAMailProgramReads() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
            "qspp-mail-\(UUID().uuidString)/mail")
        defer { try? FileManager.default.removeItem(at: folder.deletingLastPathComponent()) }
        let directory = MailDirectory(path: folder.path)
        let message = try SMTPTransportTests.message()
        try await directory.send(message)
        try await directory.send(message)
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path)
        #expect(files.count == 2)
        #expect(files.allSatisfy { $0.hasSuffix(".eml") })
        let attributes = try FileManager.default.attributesOfItem(atPath: folder.appendingPathComponent(files[0]).path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        let folderAttributes = try FileManager.default.attributesOfItem(atPath: folder.path)
        #expect((folderAttributes[.posixPermissions] as? Int) == 0o700)
        let text = try String(contentsOf: folder.appendingPathComponent(files[0]), encoding: .utf8)
        #expect(try parsedByPython(text).messageId == message.messageID)
    }

    @Test func aFileInTheFoldersPlaceIsAStorageFailure() async throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("qspp-mail-\(UUID().uuidString)")
        try Data("x".utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        await #expect(throws: MailError(.storageFailed)) {
            try await MailDirectory(path: file.path).send(try SMTPTransportTests.message())
        }
    }
}
