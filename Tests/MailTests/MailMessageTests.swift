import Foundation
import QSPPTestSupport
import Testing

@testable import Mail

/// Messages as a mail program reads them: each is rendered here and parsed by Python's email package.
struct MailMessageTests {
    static let subjects = [
        "Confirm your email address",
        "Bestätigen Sie Ihre E-Mail-Adresse – Ihr Konto bei QSPP wartet auf Sie, bitte bestätigen",
        "A subject long enough that it cannot fit on one header line at all, so it has to be folded somehow",
        "=?utf-8?B?not-really?= encoded",
        "中文主题 and emoji 🔐🔐🔐🔐🔐🔐🔐🔐🔐🔐🔐🔐🔐🔐🔐🔐🔐🔐🔐🔐🔐🔐",
        "",
    ]

    @Test(arguments: subjects)
    func aMailProgramReadsWhatWasWritten(subject: String) throws {
        let text = ".starts with a dot\nLine two\r\nÜmlaut line\n\n.\n" + String(repeating: "long ", count: 100)
        let html = "<p>Hello <b>Zoë</b></p>\n.<p>dot</p>"
        let message = try MailMessage(
            from: MailAddress("privacy@example.org", displayName: "QSPP Privacy, \"Team\""),
            to: [
                MailAddress("ana@example.com", displayName: "Ana Lúcia Ñúñez"),
                MailAddress("bob.o'neil+tag@sub.example.co.uk"),
            ], subject: subject, text: text, html: html,
            date: Date(timeIntervalSince1970: 1_796_000_000))
        let rendered = message.rendered()
        let parsed = try parsedByPython(rendered)
        #expect(parsed.defects == [])
        #expect(parsed.subject == subject)
        #expect(parsed.from == [["QSPP Privacy, \"Team\"", "privacy@example.org"]])
        #expect(parsed.to == [["Ana Lúcia Ñúñez", "ana@example.com"], ["", "bob.o'neil+tag@sub.example.co.uk"]])
        #expect(parsed.messageId == message.messageID)
        #expect(parsed.messageId.hasSuffix("@example.org>"))
        #expect(parsed.date == 1_796_000_000)
        #expect(parsed.contentType == "multipart/alternative")
        #expect(
            parsed.parts["text/plain"]
                == text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\n", with: "\r\n"))
        #expect(parsed.parts["text/html"] == html.replacingOccurrences(of: "\n", with: "\r\n"))
        #expect(parsed.longestLine <= 78)
        #expect(!parsed.bareLf)
        #expect(!parsed.eightBit)
    }

    @Test func aTextOnlyMessageIsOnePart() throws {
        let message = try MailMessage(
            from: MailAddress("a@example.org"), to: [MailAddress("b@example.org")], subject: "Hi", text: "Just text")
        let parsed = try parsedByPython(message.rendered())
        #expect(parsed.contentType == "text/plain")
        #expect(parsed.parts["text/plain"] == "Just text")
        #expect(parsed.defects == [])
    }

    /// What would end a header early, or start another, is refused before anything is written.
    @Test(arguments: [
        "Hi\r\nBcc: attacker@example.net", "Hi\nBcc: x@example.net", "Hi\rthere", "nul\u{0}", "del\u{7F}",
        "c1\u{85}next line", "tab\tinside",
    ])
    func headerInjectionIsRefused(value: String) throws {
        #expect(throws: MailError(.invalidHeader)) {
            try MailMessage(
                from: MailAddress("a@example.org"), to: [MailAddress("b@example.org")], subject: value, text: "")
        }
        #expect(throws: MailError(.invalidHeader)) { try MailAddress("a@example.org", displayName: value) }
    }

    @Test(arguments: [
        "", "plain", "@example.org", "a@", "a@@example.org", "a b@example.org", "a@exa mple.org", "a<b>@example.org",
        "a@example.org>\r\nRCPT TO:<x@evil.example", "\"quoted\"@example.org", "a@[127.0.0.1]", ".a@example.org",
        "a.@example.org", "a..b@example.org", "a@-example.org", "a@example-.org", "a@example..org", "ü@example.org",
        "a@exämple.org", String(repeating: "a", count: 65) + "@example.org",
        "a@" + String(repeating: "b", count: 64) + ".org", "a@example.org\0",
    ])
    func invalidAddressesAreRefused(address: String) {
        #expect(throws: MailError(.invalidAddress)) { try MailAddress(address) }
    }

    @Test func aMessageNeedsARecipient() {
        #expect(throws: MailError(.noRecipients)) {
            try MailMessage(from: MailAddress("a@example.org"), to: [], subject: "x", text: "")
        }
    }

    /// SMTP's transparency rule, checked by undoing it as RFC 5321 §4.5.2 tells a server to.
    @Test func dotStuffingRoundTrips() throws {
        for body in ["", ".", "..", ".\r\n.", "a\r\n.\r\nb", "\r\n.\r\n", "...x\r\n.y\r\n"] {
            let stuffed = SMTPTransport.dotStuffed(body + "\r\n")
            #expect(stuffed.hasSuffix("\r\n.\r\n"))
            var lines = stuffed.components(separatedBy: "\r\n")
            #expect(lines.removeLast() == "")
            #expect(lines.removeLast() == ".")
            #expect(!lines.contains("."))
            let unstuffed = lines.map { $0.hasPrefix(".") ? String($0.dropFirst()) : $0 }.joined(separator: "\r\n")
            #expect(unstuffed == body)
        }
    }
}
