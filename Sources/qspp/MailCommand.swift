import ArgumentParser
import Foundation
import Mail

/// Mail as QSPP sends it, so that an operator can check a relay's settings before anyone depends on
/// them.
struct MailCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mail", abstract: "Check the mail settings.", subcommands: [Test.self])

    struct Test: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Send a test message through QSPP_SMTP_URL, or into QSPP_MAIL_DIRECTORY when no SMTP server is set.",
            discussion: "Exits with status 1, and says which step failed, when the message is not accepted.")

        @OptionGroup var options: ConfigurationOptions
        @Option(help: "The address to send the test message to.") var to: String

        func run() async throws {
            let settings = try await options.load().mail
            do {
                let message = try MailMessage(
                    from: settings.sender, to: [MailAddress(to)], subject: "QSPP test message",
                    text: "This message checks QSPP's mail settings. Nothing needs to be done with it.")
                try await settings.transport().send(message)
                print("accepted: \(message.messageID) via \(settings.destination)")
            } catch {
                FileHandle.standardError.write(Data("not sent: \(error)\n".utf8))
                throw ExitCode(1)
            }
        }
    }
}
