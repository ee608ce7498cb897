import Crypto
import Foundation
import Hummingbird
import Identity
import Mustache
import NIOCore
import PQCrypto

/// The portal's templates and static assets, bundled with the binary: no CDN, no external fonts.
struct PortalPages: Sendable {
    struct Asset: Sendable {
        let bytes: ByteBuffer
        let contentType: String
        /// The asset's content hash: its URL carries it, so browsers may cache it for a year.
        let version: String
    }

    let library: MustacheLibrary
    let assets: [String: Asset]

    /// Strict: no inline script or style, no `eval`, nothing from another origin, forms and `portal.js`'s
    /// requests go only here.
    static let contentSecurityPolicy =
        "default-src 'none'; style-src 'self'; img-src 'self'; script-src 'self'; connect-src 'self'; "
        + "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

    static let bundled: PortalPages = {
        do {
            return try PortalPages(directory: Bundle.module.url(forResource: "Portal", withExtension: nil)!)
        } catch {
            // The templates ship inside the binary's bundle; a broken one is a build defect the tests catch.
            preconditionFailure("the portal's bundled templates do not load: \(error)")
        }
    }()

    init(directory: URL) throws {
        var library = MustacheLibrary()
        let templates = directory.appendingPathComponent("templates")
        for name in try FileManager.default.contentsOfDirectory(atPath: templates.path)
        where name.hasSuffix(".mustache") {
            let text = try String(contentsOf: templates.appendingPathComponent(name), encoding: .utf8)
            try library.register(text, named: String(name.dropLast(".mustache".count)))
        }
        self.library = library
        var assets: [String: Asset] = [:]
        let folder = directory.appendingPathComponent("assets")
        for name in try FileManager.default.contentsOfDirectory(atPath: folder.path) {
            let data = try Data(contentsOf: folder.appendingPathComponent(name))
            let type =
                switch (name as NSString).pathExtension {
                case "css": "text/css; charset=utf-8"
                case "js": "text/javascript; charset=utf-8"
                case "svg": "image/svg+xml"
                default: "application/octet-stream"
                }
            assets[name] = Asset(
                bytes: ByteBuffer(bytes: data), contentType: type,
                version: Hex.encode(SHA256.hash(data: data).prefix(6)))
        }
        self.assets = assets
    }

    /// Whether a request is a browser's, for a page: it accepts HTML and is not for the API or the
    /// routes upstream's clients use, which always answer JSON problems.
    static func wantsPage(_ request: Request) -> Bool {
        let path = request.uri.path
        let apiPrefixes = ["/v1/", "/portal/", "/consent", "/valyze/", "/.well-known/", "/openapi.json", "/metrics"]
        return request.headers[.accept]?.contains("text/html") == true && !apiPrefixes.contains { path.hasPrefix($0) }
    }

    /// The URL of an asset, versioned by its content.
    func assetURL(_ name: String) -> String {
        "/assets/\(name)?v=\(assets[name]?.version ?? "0")"
    }

    /// `formTargets` are origins besides our own that the page's forms may post to, or that a form's
    /// answer may redirect to: browsers apply `form-action` to the redirects after a submission too.
    func render(
        _ template: String, _ view: [String: Any], status: HTTPResponse.Status = .ok, formTargets: [String] = []
    ) -> Response {
        guard let html = library.render(view, withTemplate: template) else {
            preconditionFailure("no portal template named \(template)")
        }
        let policy =
            formTargets.isEmpty
            ? Self.contentSecurityPolicy
            : Self.contentSecurityPolicy.replacingOccurrences(
                of: "form-action 'self'", with: "form-action 'self' " + formTargets.joined(separator: " "))
        return Response(
            status: status,
            headers: [
                .contentType: "text/html; charset=utf-8", .contentSecurityPolicy: policy, .cacheControl: "no-store",
            ],
            body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    /// The page for an error: sign-in for a missing session, else the problem's title and, for
    /// mistakes the person can fix, its detail. Nothing internal is shown; a 5xx shows the request id.
    func errorPage(_ error: any Error, context: AppRequestContext) throws -> Response {
        guard let problem = Problem.from(error) else { throw error }
        if problem.status == .unauthorized, problem.slug == "unauthenticated" || problem.slug == "invalid-token" {
            return Response.redirect(to: "/login", type: .found)
        }
        var view = PageFrame(title: problem.title, context: context).values
        view["status"] = problem.status.code
        view["detail"] = problem.status.code < 500 ? problem.detail : nil
        view["requestId"] = context.requestID
        var response = render("error", view, status: problem.status)
        for field in problem.headers { response.headers.append(field) }
        return response
    }
}

/// What every page's layout shows: the title, the navigation, the signed-in person, and a notice.
struct PageFrame {
    var title: String
    var context: AppRequestContext
    /// The navigation entry this page belongs to, marked `aria-current`.
    var section: String?
    var notice: String?
    var error: String?

    init(
        title: String, context: AppRequestContext, section: String? = nil, notice: String? = nil, error: String? = nil
    ) {
        self.title = title
        self.context = context
        self.section = section
        self.notice = notice
        self.error = error
    }

    private static let sections: [(path: String, label: String, staff: Bool)] = [
        ("/my/consent", "Consent", false), ("/my/data", "My data", false), ("/my/value", "My data's value", false),
        ("/my/security", "Security", false), ("/admin", "Admin", true),
    ]

    var values: [String: Any] {
        let pages = PortalPages.bundled
        var values: [String: Any] = [
            "title": title, "csrf": context.csrfToken, "stylesheet": pages.assetURL("portal.css"),
            "script": pages.assetURL("portal.js"),
        ]
        if let user = context.principal {
            values["signedIn"] = true
            values["stepUpMinutes"] = Int(IdentityService.stepUpWindow / 60)
            values["nav"] = Self.sections.filter { !$0.staff || user.canReadAnySubject }.map { section in
                ["path": section.path, "label": section.label, "current": section.path == self.section] as [String: Any]
            }
        }
        if let notice { values["notice"] = notice }
        if let error { values["error"] = error }
        return values
    }
}
