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
        pages.render("forgot-password", PageFrame(title: "Reset your password", context: context).values)
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
