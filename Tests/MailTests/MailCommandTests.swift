import Foundation
import QSPPTestSupport
import Testing

/// `qspp mail test`, the operator's check of the mail settings, run as the shipped binary
/// (QSPP_BINARY, which scripts/test.sh sets) against a real relay and against the embedded default.
@Suite(.serialized)
struct MailCommandTests {
    struct Outcome {
        let status: Int32
        let output: String
        let errors: String
    }

    static func qspp(_ arguments: [String], environment: [String: String]) throws -> Outcome {
        guard let binary = ProcessInfo.processInfo.environment["QSPP_BINARY"] else {
            throw HelperFailure(description: "QSPP_BINARY is not set: build qspp and name it (scripts/test.sh does)")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        // Only what the test gives: no QSPP_* setting of the caller's leaks in.
        process.environment = environment.merging(["PATH": "/usr/bin:/bin"]) { given, _ in given }
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let out = output.fileHandleForReading.readDataToEndOfFile()
        let err = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Outcome(
            status: process.terminationStatus, output: String(decoding: out, as: UTF8.self),
            errors: String(decoding: err, as: UTF8.self))
    }

    /// `qspp mail test` to ops@example.com through `server`, signing in as `mailer` with `password`.
    static func sendTest(
        through server: SMTPServerProcess, password: String, _ more: [String: String] = [:]
    ) throws
        -> Outcome
    {
        try qspp(
            ["mail", "test", "--to", "ops@example.com"],
            environment: more.merging([
                "QSPP_SMTP_URL": "smtp://mailer:\(password)@localhost:\(server.port)",
                "QSPP_SMTP_CA_FILE": server.certificate.certificate,
            ]) { given, _ in given })
    }

    @Test func aTestMessageGoesThroughTheConfiguredRelay() throws {
        let server = try SMTPServerProcess(mode: "starttls")
        let outcome = try Self.sendTest(
            through: server, password: "s3cret%20pass",
            ["QSPP_MAIL_FROM": "privacy@example.org", "QSPP_MAIL_FROM_NAME": "Example Privacy Team"])
        #expect(outcome.status == 0, "\(outcome.errors)")
        #expect(outcome.output.contains("smtp://<credentials>@localhost:\(server.port)"))
        let received = try server.messages()
        try #require(received.count == 1)
        #expect(received[0].tls)
        #expect(received[0].rcptTos == ["ops@example.com"])
        #expect(try parsedByPython(received[0].data).from == [["Example Privacy Team", "privacy@example.org"]])
    }

    @Test func aRefusedPasswordExitsWithTheStepAndNotThePassword() throws {
        let server = try SMTPServerProcess(mode: "starttls")
        let outcome = try Self.sendTest(through: server, password: "not-the-password")
        #expect(outcome.status == 1)
        #expect(outcome.errors.contains("refused the credentials"))
        #expect(!outcome.errors.contains("not-the-password") && !outcome.output.contains("not-the-password"))
        #expect(try server.messages().isEmpty)
    }

    @Test func withoutARelayTheMessageIsAFileInTheMailFolder() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("qspp-mail-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let outcome = try Self.qspp(
            ["mail", "test", "--to", "ops@example.com"], environment: ["QSPP_MAIL_DIRECTORY": folder.path])
        #expect(outcome.status == 0, "\(outcome.errors)")
        #expect(outcome.output.contains("no SMTP server is configured"))
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path)
        try #require(files.count == 1)
        let text = try String(contentsOf: folder.appendingPathComponent(files[0]), encoding: .utf8)
        #expect(try parsedByPython(text).to == [["", "ops@example.com"]])
    }

    @Test(arguments: [
        ["QSPP_SMTP_URL": "ftp://host"], ["QSPP_MAIL_FROM": "not an address"],
        ["QSPP_MAIL_FROM_NAME": "Evil\r\nBcc: x@example.net"],
    ])
    func badSettingsAreNamedAndRefused(environment: [String: String]) throws {
        let outcome = try Self.qspp(["mail", "test", "--to", "ops@example.com"], environment: environment)
        #expect(outcome.status != 0)
        #expect(outcome.errors.contains(environment.keys.first!))
    }
}
