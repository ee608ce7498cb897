public import Foundation
import Mustache
public import Outbox

/// The messages' Mustache templates, bundled with the binary: per language, a subject, a plain-text
/// body and an HTML body for each kind of message, and one HTML layout around every body. A language
/// the templates lack falls back to English.
public struct MailTemplates: Sendable {
    /// A message rendered, ready to address.
    public struct Rendered: Sendable, Equatable {
        public let subject: String
        public let text: String
        public let html: String
    }

    public static let fallbackLanguage = "en"
    /// Shown in every message; an organisation's name once one is configured.
    static let product = "QSPP"

    private let library: MustacheLibrary
    /// The languages with a folder of templates.
    public let languages: Set<String>

    public static let bundled: MailTemplates = {
        do {
            return try MailTemplates(directory: Bundle.module.url(forResource: "Mail", withExtension: nil)!)
        } catch {
            // The templates ship inside the binary's bundle; a broken one is a build defect the tests catch.
            preconditionFailure("the bundled mail templates do not load: \(error)")
        }
    }()

    init(directory: URL) throws {
        var library = MustacheLibrary()
        var languages: Set<String> = []
        let files = FileManager.default
        let layout = try String(contentsOf: directory.appendingPathComponent("layout.html.mustache"), encoding: .utf8)
        try library.register(layout, named: "layout")
        for language in try files.contentsOfDirectory(atPath: directory.path).sorted()
        where !language.hasSuffix(".mustache") {
            let folder = directory.appendingPathComponent(language)
            for name in try files.contentsOfDirectory(atPath: folder.path) where name.hasSuffix(".mustache") {
                let text = try String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8)
                try library.register(text, named: language + "/" + name.dropLast(".mustache".count))
            }
            languages.insert(language)
        }
        self.library = library
        self.languages = languages
    }

    /// Renders `mail` in its language, or in English. Nil when no template of that name exists.
    public func render(_ mail: OutboundMail) -> Rendered? {
        let language = languages.contains(mail.locale) ? mail.locale : Self.fallbackLanguage
        var view: [String: Any] = mail.values
        view["product"] = Self.product
        let name = language + "/" + mail.template.rawValue
        guard let subject = library.render(view, withTemplate: name + ".subject"),
            let text = library.render(view, withTemplate: name + ".text"),
            let body = library.render(view, withTemplate: name + ".html")
        else { return nil }
        let line = subject.split(whereSeparator: \.isNewline).joined(separator: " ")
            .trimmingCharacters(in: .whitespaces)
        view["subject"] = line
        view["language"] = language
        view["content"] = body
        guard let html = library.render(view, withTemplate: "layout") else { return nil }
        return Rendered(subject: line, text: text.trimmingCharacters(in: .newlines) + "\n", html: html)
    }
}
