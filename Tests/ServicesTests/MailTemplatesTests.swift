import Foundation
import Outbox
import Services
import Testing

/// The bundled mail templates: every message exists in every shipped language, values are escaped in
/// HTML and left alone in text, subjects stay on one line, and a language without templates gets
/// English.
@Suite("Mail templates")
struct MailTemplatesTests {
    static let templates = MailTemplates.bundled

    static func mail(_ template: MailTemplateName, locale: String?, values: [String: String] = [:]) -> OutboundMail {
        OutboundMail(
            subject: "s", template: template, locale: locale, recipient: "ana@example.com", values: values,
            createdAt: Date())
    }

    /// Every link a template may show, all one address, so each message must show it.
    static let everyLink = Dictionary(
        uniqueKeysWithValues: ["link", "reset", "security", "signIn", "undo"].map {
            ($0, "https://q.example/x?token=abc")
        })

    @Test func everyMessageRendersInEveryLanguage() throws {
        #expect(Self.templates.languages == ["en", "de"])
        for language in Self.templates.languages {
            for kind in MailTemplateName.all {
                let rendered = try #require(
                    Self.templates.render(
                        Self.mail(kind, locale: language, values: Self.everyLink)),
                    "\(kind) in \(language)")
                #expect(
                    !rendered.subject.isEmpty && !rendered.subject.contains("\n") && !rendered.subject.contains("{{"))
                #expect(rendered.text.contains("https://q.example/x?token=abc"))
                #expect(rendered.html.contains("lang=\"\(language)\"") && !rendered.html.contains("{{"))
            }
        }
        #expect(Self.templates.render(Self.mail(MailTemplateName(rawValue: "no-such-message"), locale: "en")) == nil)
    }

    @Test func aRequestNamesItsKindAndLawInTheAccountsLanguage() throws {
        let values = ["kind_erasure": "yes", "received": "2026-12-06", "due": "2027-01-06", "reason": "a < b"]
        let english = try #require(Self.templates.render(Self.mail(.requestRejected, locale: "en", values: values)))
        #expect(english.text.contains("your request for erasure of your data (GDPR Art. 17) of 2026-12-06"))
        #expect(english.text.contains("Why: a < b") && english.html.contains("Why: a &lt; b"))
        let german = try #require(Self.templates.render(Self.mail(.requestExtended, locale: "de", values: values)))
        #expect(german.text.contains("Löschung Ihrer Daten (DSGVO Art. 17)") && german.text.contains("2027-01-06"))
    }

    @Test func valuesAreEscapedInHTMLOnly() throws {
        let rendered = try #require(
            Self.templates.render(
                Self.mail(.passwordReset, locale: "en", values: ["link": "https://q.example/?a=1&b=<script>"])))
        #expect(rendered.text.contains("https://q.example/?a=1&b=<script>"))
        #expect(rendered.html.contains("https://q.example/?a=1&amp;b=&lt;script&gt;"))
        #expect(!rendered.html.contains("<script>"))
    }

    @Test func aLanguageWithoutTemplatesGetsEnglishAndTheSecondFactorLineFollowsTheAccount() throws {
        let french = try #require(Self.templates.render(Self.mail(.passwordReset, locale: "fr")))
        #expect(french.subject == "Reset your QSPP password")
        #expect(!french.text.contains("authenticator"))
        let withMFA = try #require(
            Self.templates.render(Self.mail(.passwordReset, locale: "de", values: ["mfa": "yes"])))
        #expect(withMFA.subject == "Ihr QSPP-Passwort zurücksetzen")
        #expect(withMFA.text.contains("Authenticator-App"))
    }
}
