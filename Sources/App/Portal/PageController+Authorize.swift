import Foundation
import HTTPTypes
import Hummingbird
import Identity

/// The authorization endpoint (RFC 6749 §3.1): where an application sends a person to sign in through
/// QSPP. It runs in the portal, behind the browser's session, the CSRF check and the portal's
/// `frame-ancestors 'none'`; the decisions are ``IdentityService/authorize(_:client:user:decision:from:)``'s.
extension PageController {
    func addAuthorizationRoutes(to routes: RouteCollection<AppRequestContext>) {
        routes.get("/authorize", use: authorizationRequest)
        routes.post("/authorize", use: authorizationDecision)
        routes.post("/my/security/applications/:clientId/disconnect", use: disconnectApplication)
    }

    @Sendable func authorizationRequest(_ request: Request, context: AppRequestContext) async throws -> Response {
        let query = request.uri.query ?? ""
        return try await step(query: query, decision: nil, request, context)
    }

    @Sendable func authorizationDecision(_ request: Request, context: AppRequestContext) async throws -> Response {
        var request = request
        let form = try await request.form(context: context)
        // A relying party's own post of an authorization request, with no CSRF field: a GET by another
        // method (OIDC Core §3.1.2.1).
        if form["csrf"] == nil { return try await step(query: form.encoded, decision: nil, request, context) }
        guard context.principal != nil else { throw Problem.unauthenticated }
        let decision: Bool? =
            switch form["decision"] {
            case "allow": true
            case "deny": false
            default: nil
            }
        guard let decision else { throw Problem.invalid("choose Allow or Deny") }
        return try await step(query: form["request"] ?? "", decision: decision, request, context)
    }

    private func step(
        query: String, decision: Bool?, _ request: Request, _ context: AppRequestContext
    ) async throws
        -> Response
    {
        let checked: AuthorizationRequest
        let client: OAuthClient
        do {
            (checked, client) = try await identity.authorizationRequest(FormFields(query).pairs)
        } catch AuthorizationFailure.unredirectable(let reason) {
            return try pages.errorPage(
                Problem(
                    .badRequest, "invalid-authorization-request", "This sign-in request is not valid", detail: reason),
                context: context)
        } catch AuthorizationFailure.redirect(let error, let reply) {
            return answer(error.answer(to: reply, issuer: identity.tokens.issuer), context)
        }
        // Arriving from the application's site, the browser withheld our SameSite=Strict cookies; one
        // step from our own page brings them, before anything is decided (prompt=none included).
        if decision == nil, context.principal == nil, request.cookies[WebCookie.csrf] == nil {
            return continuePage("/authorize?" + query)
        }
        switch try await identity.authorize(
            checked, client: client, user: context.principal, decision: decision, from: context.client(request))
        {
        case .signIn(let again):
            return seeOther("/login?next=" + Self.queryEscaped("/authorize?" + query) + (again ? "&again=1" : ""))
        case .consent(let client, let checked):
            var view = PageFrame(title: "Allow \(client.name)?", context: context).values
            view["clientName"] = client.name
            view["scopes"] = checked.scopes.sorted().map { ["name": $0.rawValue, "explanation": $0.explanation] }
            view["returnHost"] = Self.origin(of: checked.redirectURI) ?? checked.redirectURI
            view["request"] = query
            return pages.render("authorize", view, formTargets: Self.origin(of: checked.redirectURI).map { [$0] } ?? [])
        case .answer(let answer):
            return self.answer(answer, context)
        }
    }

    /// Sends the answer to the client: in the redirect's query, or as a form the browser posts.
    private func answer(_ answer: IdentityService.AuthorizationAnswer, _ context: AppRequestContext) -> Response {
        let reply = answer.reply
        switch reply.responseMode {
        case .query:
            let separator = reply.redirectURI.contains("?") ? "&" : "?"
            let query = answer.parameters.map { "\($0.name)=\(Self.queryEscaped($0.value))" }.joined(separator: "&")
            return seeOther(reply.redirectURI + separator + query)
        case .formPost:
            var view = PageFrame(title: "Returning to the application", context: context).values
            view["action"] = reply.redirectURI
            view["fields"] = answer.parameters.map { ["name": $0.name, "value": $0.value] }
            return pages.render("form-post", view, formTargets: Self.origin(of: reply.redirectURI).map { [$0] } ?? [])
        }
    }

    /// A page that moves on to `next` by itself: a navigation from our own page, so it carries our
    /// cookies, and it is not part of a form's redirects, so `form-action` does not stop it.
    func continuePage(_ next: String) -> Response {
        pages.render("continue", ["next": next, "stylesheet": pages.assetURL("portal.css")])
    }

    @Sendable func disconnectApplication(_ request: Request, context: AppRequestContext) async throws -> Response {
        let user = try context.requireUser()
        guard let clientID = context.parameters.get("clientId") else { throw Problem.notFound }
        try await identity.disconnectApplication(clientID, user: user, client: context.client(request))
        return done("/my/security", .applicationDisconnected)
    }

    /// Where a sign-in may return to: only the authorization endpoint, so `next` cannot redirect
    /// anywhere else.
    static func returnPath(_ next: String?) -> String? {
        guard let next, next.hasPrefix("/authorize?"), next.utf8.count <= 8192,
            next.utf8.allSatisfy({ (0x21...0x7E).contains($0) && $0 != UInt8(ascii: "\\") })
        else { return nil }
        return next
    }

    static func origin(of uri: String) -> String? {
        guard let scheme = uri.range(of: "://") else { return nil }
        let rest = uri[scheme.upperBound...]
        let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        return String(uri[..<scheme.upperBound]) + authority
    }

    static func queryEscaped(_ text: String) -> String {
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-._~"))
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
    }
}
