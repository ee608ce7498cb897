import Foundation
import HTTPTypes
import Hummingbird
import Identity

/// Registration, sign-in with the MFA step and "remember me", and sign-out.
extension PageController {
    func addAccountRoutes(to routes: RouteCollection<AppRequestContext>) {
        routes.get("/login", use: loginPage)
        routes.post("/login", use: login)
        routes.post("/login/mfa", use: completeMFA)
        routes.get("/register", use: registerPage)
        routes.post("/register", use: register)
        routes.post("/logout", use: logout)
    }

    @Sendable func loginPage(_ request: Request, context: AppRequestContext) async throws -> Response {
        if let kept = keepingVisitor(request) { return kept }
        let next = Self.returnPath(request.uri.queryParameters.get("next"))
        // An application that asks for a recent sign-in (prompt=login, max_age) gets the form even when
        // the person is signed in.
        let again = next != nil && request.uri.queryParameters.get("again") == "1"
        if context.principal != nil, !again { return next.map(continuePage) ?? seeOther("/my/consent") }
        let notice = again ? "The application asks you to sign in again." : notice(request)
        var view = PageFrame(title: "Sign in", context: context, notice: notice).values
        view["next"] = next
        return pages.render("login", view)
    }

    @Sendable func login(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await handlingForm(request, context) { form in
            try await services.limit(.login, context)
            let outcome = try await identity.login(
                email: form["email"] ?? "", password: form["password"] ?? "", rememberMe: form.isChecked("rememberMe"),
                deviceCookie: request.cookies[WebCookie.device]?.value, client: context.client(request))
            switch outcome {
            case .mfaRequired(let challenge, let passkeys):
                var view = PageFrame(title: "Two-factor authentication", context: context).values
                view["mfaToken"] = challenge
                view["passkeys"] = passkeys
                view["next"] = Self.returnPath(form["next"])
                return pages.render("login-mfa", view)
            case .authenticated(let grant):
                return try await signedIn(grant, next: form["next"])
            }
        } failing: { form, message, status in
            var view = PageFrame(title: "Sign in", context: context, error: message).values
            view["email"] = form["email"] ?? ""
            view["next"] = Self.returnPath(form["next"])
            return pages.render("login", view, status: status)
        }
    }

    @Sendable func completeMFA(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await handlingForm(request, context) { form in
            try await services.limit(.mfa, context)
            let challenge = form["mfaToken"] ?? ""
            let grant =
                if let passkey = form.optional("passkey") {
                    try await identity.completeMFALogin(
                        challenge: challenge, passkey: try Self.decode(PasskeyAssertionInput.self, passkey).assertion,
                        client: context.client(request))
                } else {
                    try await identity.completeMFALogin(
                        challenge: challenge, code: form["code"] ?? "", client: context.client(request))
                }
            return try await signedIn(grant, next: form["next"])
        } failing: { form, message, status in
            var view = PageFrame(title: "Two-factor authentication", context: context, error: message).values
            view["mfaToken"] = form["mfaToken"] ?? ""
            view["next"] = Self.returnPath(form["next"])
            view["passkeys"] = form["passkeys"] == "true"
            return pages.render("login-mfa", view, status: status)
        }
    }

    @Sendable func registerPage(_ request: Request, context: AppRequestContext) async throws -> Response {
        if let kept = keepingVisitor(request) { return kept }
        if context.principal != nil { return seeOther("/my/consent") }
        return pages.render("register", PageFrame(title: "Create an account", context: context).values)
    }

    @Sendable func register(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await handlingForm(request, context) { form in
            try await services.limit(.registration, context)
            let email = form["email"] ?? ""
            let password = form["password"] ?? ""
            guard password == form["confirmPassword"] else { throw Problem.invalid("the two passwords differ") }
            // The same page whether or not the email had an account: its owner hears by mail either way.
            try await identity.register(
                email: email, password: password, client: context.client(request),
                locale: request.headers[.acceptLanguage])
            var view = PageFrame(title: "Create an account", context: context).values
            view["sent"] = true
            view["email"] = email.trimmingCharacters(in: .whitespacesAndNewlines)
            return pages.render("register", view)
        } failing: { form, message, status in
            var view = PageFrame(title: "Create an account", context: context, error: message).values
            view["email"] = form["email"] ?? ""
            return pages.render("register", view, status: status)
        }
    }

    /// A link from a property's page brings the visitor's token: kept in a cookie of our own until the
    /// person, signed in, confirms on the consent page that the visitor was them (a form, so another
    /// site cannot confirm it for them), and taken out of the address, which browsers keep in history.
    func keepingVisitor(_ request: Request) -> Response? {
        guard let token = request.uri.queryParameters.get("visitor") else { return nil }
        var rest = URLComponents()
        rest.queryItems = request.uri.queryParameters.filter { $0.key != "visitor" }.map {
            URLQueryItem(name: String($0.key), value: String($0.value))
        }
        let query = rest.percentEncodedQuery.map { $0.isEmpty ? "" : "?" + $0 } ?? ""
        let valid = token.utf8.count <= 200 && token.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F && $0 != 0x3B }
        let cookies = valid ? [WebCookie.set(WebCookie.visitor, String(token), maxAge: WebCookie.visitorLifetime)] : []
        return seeOther(request.uri.path + query, cookies: cookies)
    }

    @Sendable func logout(_ request: Request, context: AppRequestContext) async throws -> Response {
        if let user = context.principal {
            try await identity.logout(user: user, everywhere: false, client: context.client(request))
        }
        return seeOther("/login?done=\(PageNotice.signedOut.rawValue)", cookies: WebCookie.endSession)
    }

    /// Starts the browser session of a fresh login: the ticket and refresh cookies, then the dashboard,
    /// or the authorization request the person signed in for.
    func signedIn(_ grant: TokenGrant, next: String? = nil) async throws -> Response {
        let user = try await identity.authenticate(accessToken: grant.accessToken)
        let cookies = WebCookie.session(grant, ticket: try identity.webTicket(for: user))
        guard let next = Self.returnPath(next) else { return seeOther("/my/consent", cookies: cookies) }
        var response = continuePage(next)
        for cookie in cookies { response.headers.append(HTTPField(name: .setCookie, value: cookie)) }
        return response
    }
}
