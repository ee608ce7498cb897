import Foundation
import HTTPTypes
import Hummingbird
import Identity

/// The end-session endpoint (OIDC RP-Initiated Logout 1.0). A GET only asks: signing out takes the
/// person's own click on our page, with the CSRF token, so a link elsewhere cannot sign anyone out.
extension PageController {
    func addEndSessionRoutes(to routes: RouteCollection<AppRequestContext>) {
        routes.get("/end-session", use: endSessionRequest)
        routes.post("/end-session", use: endSession)
    }

    @Sendable func endSessionRequest(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await askToEndSession(FormFields(request.uri.query ?? ""), request, context)
    }

    private func askToEndSession(
        _ query: FormFields, _ request: Request, _ context: AppRequestContext
    ) async throws -> Response {
        let logout = try await logoutRequest(
            hint: query["id_token_hint"], clientID: query["client_id"], redirect: query["post_logout_redirect_uri"],
            state: query["state"])
        // Arriving from the application's site, the browser withheld our SameSite=Strict cookies; one
        // step from our own page brings them, or the person would seem signed out already.
        if context.principal == nil, request.cookies[WebCookie.csrf] == nil {
            return continuePage("/end-session?" + query.encoded)
        }
        guard context.principal != nil else { return afterLogout(logout) }
        var view = PageFrame(title: "Sign out?", context: context).values
        view["clientName"] = logout.client?.name
        view["clientId"] = logout.client?.id
        view["redirectURI"] = logout.redirectURI
        view["state"] = logout.state
        return pages.render(
            "end-session", view, formTargets: logout.redirectURI.flatMap(Self.origin(of:)).map { [$0] } ?? [])
    }

    @Sendable func endSession(_ request: Request, context: AppRequestContext) async throws -> Response {
        var request = request
        let form = try await request.form(context: context)
        // A relying party's own post (RP-Initiated Logout §2), with no CSRF field, only asks.
        if form["csrf"] == nil { return try await askToEndSession(form, request, context) }
        let logout = try await logoutRequest(
            hint: nil, clientID: form["client_id"], redirect: form["post_logout_redirect_uri"], state: form["state"])
        if let user = context.principal {
            try await identity.logout(user: user, everywhere: false, client: context.client(request))
        }
        var response = afterLogout(logout)
        for cookie in WebCookie.endSession { response.headers.append(HTTPField(name: .setCookie, value: cookie)) }
        return response
    }

    private func logoutRequest(
        hint: String?, clientID: String?, redirect: String?, state: String?
    ) async throws
        -> IdentityService.LogoutRequest
    {
        do {
            return try await identity.logoutRequest(
                idTokenHint: hint, clientID: clientID, postLogoutRedirectURI: redirect, state: state)
        } catch let error as OAuthError {
            throw Problem(
                .badRequest, "invalid-logout-request", "This sign-out request is not valid", detail: error.detail)
        }
    }

    private func afterLogout(_ logout: IdentityService.LogoutRequest) -> Response {
        guard let redirect = logout.redirectURI else { return seeOther("/login?done=\(PageNotice.signedOut.rawValue)") }
        let separator = redirect.contains("?") ? "&" : "?"
        return seeOther(redirect + (logout.state.map { separator + "state=" + Self.queryEscaped($0) } ?? ""))
    }
}
