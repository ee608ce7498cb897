import Foundation
import HTTPTypes
import Hummingbird
import Identity

/// The cookies of a browser session. Each is a `__Host-` cookie (Secure, `Path=/`, no `Domain`), so
/// a sibling subdomain can neither set nor shadow it, and each is `HttpOnly; SameSite=Strict`.
enum WebCookie {
    /// The short-lived session ticket (``WebTicket``), the browser's stand-in for an access token.
    static let ticket = "__Host-qspp-ticket"
    /// The rotating refresh token that renews the ticket; persistent only with "remember me".
    static let refresh = "__Host-qspp-refresh"
    /// The double-submit CSRF token every form carries back.
    static let csrf = "__Host-qspp-csrf"
    /// Marks a client that has signed in to an account before, so the account's lock-out spares it
    /// (``IdentityService/login(email:password:rememberMe:deviceCookie:client:)``). API clients get it too.
    static let device = "__Host-qspp-device"
    /// A website visitor's token, brought by a link from a property's page to sign-up or sign-in: the
    /// consent page offers the signed-in person to take over the visitor's history.
    static let visitor = "__Host-qspp-visitor"
    static let visitorLifetime = 3600

    static func set(_ name: String, _ value: String, maxAge: Int? = nil) -> String {
        var text = "\(name)=\(value); Path=/; HttpOnly; Secure; SameSite=Strict"
        if let maxAge { text += "; Max-Age=\(max(0, maxAge))" }
        return text
    }

    static func clear(_ name: String) -> String { set(name, "", maxAge: 0) }

    /// The cookies that start or renew a session.
    static func session(_ grant: TokenGrant, ticket: WebTicket) -> [String] {
        let refreshAge = grant.rememberMe ? Int(grant.refreshTokenExpiresAt.timeIntervalSinceNow.rounded()) : nil
        return [
            set(Self.ticket, ticket.value, maxAge: Int(ticket.expiresAt.timeIntervalSinceNow.rounded())),
            set(refresh, grant.refreshToken, maxAge: refreshAge),
        ] + deviceCookie(grant)
    }

    static func deviceCookie(_ grant: TokenGrant) -> [String] {
        grant.deviceCookie.map { [set(device, $0, maxAge: Int(IdentityService.deviceCookieLifetime))] } ?? []
    }

    /// A visitor brought along is not offered to whoever signs in next on this browser.
    static let endSession = [clear(ticket), clear(refresh), clear(visitor)]
}

/// In front of every page: finds the browser's session (a valid ticket, or else a refresh token that
/// renews it), makes sure the browser holds a CSRF token and that every POST carries it back, and turns
/// failures into HTML error pages. API routes never read these cookies, so they stay immune to CSRF.
struct WebSessionMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    static let relyingPartyEndpoints: Set<String> = ["/authorize", "/end-session"]
    let identity: IdentityService
    let pages: PortalPages

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        var context = context
        var request = request
        var cookies: [String] = []
        do {
            let csrf = request.cookies[WebCookie.csrf]?.value ?? ""
            if csrf.utf8.count == 43 {
                context.csrfToken = csrf
            } else {
                context.csrfToken = OpaqueSecret.generateToken()
                cookies.append(WebCookie.set(WebCookie.csrf, context.csrfToken))
            }
            cookies += try await resumeSession(request, &context)
            if request.method == .post { try await checkCSRF(&request, context) }
            var response = try await next(request, context)
            let setByPage = Set(response.headers[values: .setCookie].compactMap { $0.split(separator: "=").first })
            for cookie in cookies where !setByPage.contains(cookie.split(separator: "=")[0]) {
                response.headers.append(HTTPField(name: .setCookie, value: cookie))
            }
            return response
        } catch {
            var response = try pages.errorPage(error, context: context)
            for cookie in cookies { response.headers.append(HTTPField(name: .setCookie, value: cookie)) }
            return response
        }
    }

    /// The cookies to set when the ticket had to be renewed or the session is over.
    private func resumeSession(_ request: Request, _ context: inout Context) async throws -> [String] {
        if let ticket = request.cookies[WebCookie.ticket]?.value, !ticket.isEmpty,
            let user = try? await identity.authenticate(webTicket: ticket)
        {
            context.principal = user
            return []
        }
        guard let refresh = request.cookies[WebCookie.refresh]?.value, !refresh.isEmpty else { return [] }
        do {
            let grant = try await identity.refresh(refreshToken: refresh, client: context.client(request))
            let user = try await identity.authenticate(accessToken: grant.accessToken)
            context.principal = user
            return WebCookie.session(grant, ticket: try identity.webTicket(for: user))
        } catch is IdentityError {
            return WebCookie.endSession
        }
    }

    /// Double-submit: the form's `csrf` field must equal the cookie. Together with `SameSite=Strict`
    /// this stops another site from posting a form on the person's behalf. The two OpenID Connect
    /// endpoints that relying parties may post to (OIDC Core §3.1.2.1, RP-Initiated Logout §2) take a
    /// post without the field as they take a GET: it only asks, and the person decides on our page.
    private func checkCSRF(_ request: inout Request, _ context: Context) async throws {
        let form = try await request.form(context: context)
        if form["csrf"] == nil, Self.relyingPartyEndpoints.contains(request.uri.path) { return }
        guard ConstantTime.equal(Array((form["csrf"] ?? "").utf8), Array(context.csrfToken.utf8)),
            request.cookies[WebCookie.csrf]?.value == context.csrfToken
        else {
            throw Problem(
                .forbidden, "csrf", "Form expired",
                detail: "the form's security token did not match; reload the page and try again")
        }
    }
}
