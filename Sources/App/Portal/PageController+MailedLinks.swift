import Foundation
import Hummingbird
import Identity

/// The pages of mailed links. "Forgot your password?": asking for a link (the same answer whether or
/// not the account exists), and the link's page, which asks for the second factor too when the account
/// has MFA on. Confirming an email: the link's page only shows a button, since mail scanners open
/// links; the form it posts confirms.
extension PageController {
    func addMailedLinkRoutes(to routes: RouteCollection<AppRequestContext>) {
        routes.get("/forgot-password", use: forgotPasswordPage)
        routes.post("/forgot-password", use: forgotPassword)
        routes.get("/reset-password", use: resetPasswordPage)
        routes.post("/reset-password", use: resetPassword)
        routes.get("/verify-email", use: verifyEmailPage)
        routes.post("/verify-email", use: verifyEmail)
        routes.post("/my/email/verification", use: resendVerification)
        routes.get("/confirm-email-change", use: emailChangePage(.confirm))
        routes.post("/confirm-email-change", use: changeEmail(.confirm))
        routes.get("/undo-email-change", use: emailChangePage(.undo))
        routes.post("/undo-email-change", use: changeEmail(.undo))
    }

    /// The two links of an email change: the one mailed to the new address, and the undo link mailed
    /// to the old one. Each page only shows a button, as mail scanners open links.
    enum EmailChangeLink {
        case confirm, undo

        var action: String { self == .confirm ? "/confirm-email-change" : "/undo-email-change" }
        var heading: String { self == .confirm ? "Move your account to this address" : "Undo the email change" }
        var prompt: String {
            self == .confirm
                ? "Your account moves to the address this link was sent to; the old one is told."
                : "Your account moves back to this address. Its password, passkeys and two-factor set-up are removed and every session is signed out, in case whoever moved it added their own: choose a new password next."
        }
        var button: String { self == .confirm ? "Move my account here" : "Move my account back" }
    }

    func emailChangePage(_ link: EmailChangeLink) -> @Sendable (Request, AppRequestContext) async throws -> Response {
        { request, context in
            pages.render(
                "email-change", emailChangeView(link, context, token: request.uri.queryParameters.get("token")))
        }
    }

    func changeEmail(_ link: EmailChangeLink) -> @Sendable (Request, AppRequestContext) async throws -> Response {
        { request, context in
            try await handlingForm(request, context) { form in
                try await services.limit(.passwordReset, context)
                switch link {
                case .confirm:
                    try await identity.confirmEmailChange(token: form["token"] ?? "", client: context.client(request))
                    guard context.principal != nil else {
                        return seeOther("/login?done=\(PageNotice.emailChanged.rawValue)")
                    }
                    return done("/my/data", .emailChanged)
                case .undo:
                    try await identity.undoEmailChange(token: form["token"] ?? "", client: context.client(request))
                    return seeOther(
                        "/forgot-password?done=\(PageNotice.emailChangeUndone.rawValue)", cookies: WebCookie.endSession)
                }
            } failing: { _, message, status in
                pages.render("email-change", emailChangeView(link, context, token: nil, error: message), status: status)
            }
        }
    }

    private func emailChangeView(
        _ link: EmailChangeLink, _ context: AppRequestContext, token: String?, error: String? = nil
    ) -> [String: Any] {
        var view = PageFrame(title: link.heading, context: context, error: error).values
        view["heading"] = link.heading
        view["action"] = link.action
        view["prompt"] = link.prompt
        view["button"] = link.button
        view["token"] = token ?? ""
        return view
    }

    @Sendable func verifyEmailPage(_ request: Request, context: AppRequestContext) async throws -> Response {
        var view = PageFrame(title: "Confirm your email", context: context).values
        view["token"] = request.uri.queryParameters.get("token") ?? ""
        return pages.render("verify-email", view)
    }

    @Sendable func verifyEmail(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await handlingForm(request, context) { form in
            try await services.limit(.passwordReset, context)
            try await identity.verifyEmail(token: form["token"] ?? "", client: context.client(request))
            guard context.principal != nil else { return seeOther("/login?done=\(PageNotice.emailVerified.rawValue)") }
            return done("/my/data", .emailVerified)
        } failing: { _, message, status in
            pages.render(
                "verify-email", PageFrame(title: "Confirm your email", context: context, error: message).values,
                status: status)
        }
    }

    @Sendable func resendVerification(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await handlingForm(request, context) { _ in
            try await services.resendVerification(try context.requireUser())
            return done("/my/data", .verificationSent)
        } failing: { _, message, status in
            try await renderData(context, error: message, status: status)
        }
    }

    @Sendable func forgotPasswordPage(_ request: Request, context: AppRequestContext) async throws -> Response {
        pages.render(
            "forgot-password", PageFrame(title: "Reset your password", context: context, notice: notice(request)).values
        )
    }

    @Sendable func forgotPassword(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await handlingForm(request, context) { form in
            try await services.limit(.passwordReset, context)
            try await services.requestPasswordReset(email: form["email"] ?? "", client: context.client(request))
            var view = PageFrame(title: "Reset your password", context: context).values
            view["sent"] = true
            return pages.render("forgot-password", view)
        } failing: { form, message, status in
            var view = PageFrame(title: "Reset your password", context: context, error: message).values
            view["email"] = form["email"] ?? ""
            return pages.render("forgot-password", view, status: status)
        }
    }

    @Sendable func resetPasswordPage(_ request: Request, context: AppRequestContext) async throws -> Response {
        let token = request.uri.queryParameters.get("token") ?? ""
        do {
            let mfa = try await identity.passwordResetNeedsSecondFactor(token: token)
            return resetForm(context, token: token, mfa: mfa, error: nil)
        } catch let error as IdentityError where error.kind == .invalidLink {
            return resetForm(context, token: nil, mfa: false, error: Self.deadLink, status: .badRequest)
        }
    }

    @Sendable func resetPassword(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await handlingForm(request, context) { form in
            try await services.limit(.passwordReset, context)
            let password = form["password"] ?? ""
            guard password == form["confirmPassword"] else { throw Problem.invalid("the two passwords differ") }
            try await identity.resetPassword(
                token: form["token"] ?? "", newPassword: password, code: form["code"], client: context.client(request))
            return seeOther(
                "/login?done=\(PageNotice.passwordReset.rawValue)", cookies: WebCookie.endSession)
        } failing: { form, message, status in
            let token = form["token"] ?? ""
            guard let mfa = try? await identity.passwordResetNeedsSecondFactor(token: token) else {
                return resetForm(context, token: nil, mfa: false, error: Self.deadLink, status: .badRequest)
            }
            return resetForm(context, token: token, mfa: mfa, error: message, status: status)
        }
    }

    static let deadLink = IdentityError.invalidLink.description

    private func resetForm(
        _ context: AppRequestContext, token: String?, mfa: Bool, error: String?, status: HTTPResponse.Status = .ok
    ) -> Response {
        var view = PageFrame(title: "Choose a new password", context: context, error: error).values
        view["token"] = token
        view["mfa"] = mfa
        return pages.render("reset-password", view, status: status)
    }
}
