import Foundation
import Hummingbird
import Identity
import Services

/// The links QynAuth mails: password reset under `/v1/auth/password`, confirming an email, and moving
/// an account to another email (and back).
/// Asking for a reset link answers the same whether or not the account exists; it is limited per
/// client address and per email address, so neither a flood of mail to one person nor a sweep of
/// addresses gets far.
struct MailedLinkController {
    let services: QSPPServices

    var endpoints: RouteCollection<AppRequestContext> {
        let routes = RouteCollection(context: AppRequestContext.self)
        routes.post("/v1/auth/password/forgot", use: forgot)
        routes.post("/v1/auth/password/reset", use: reset)
        routes.post("/v1/auth/email/verify", use: verify)
        routes.post("/v1/me/email/verification", use: resend)
        routes.post("/v1/auth/email/change/confirm", use: confirmChange)
        routes.post("/v1/auth/email/change/undo", use: undoChange)
        return routes
    }

    struct ForgotInput: Decodable {
        var email: String
    }

    struct ResetInput: Decodable {
        var token: String
        var newPassword: String
        /// A TOTP code or a recovery code, when the account has MFA on.
        var code: String?
    }

    struct Accepted: ResponseCodable {
        var status = "accepted"
        var message = "If an account has this address, a link to reset its password is on its way."
    }

    struct Done: ResponseCodable {
        var status = "success"
        var message: String
    }

    struct TokenInput: Decodable {
        var token: String
    }

    @Sendable func forgot(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await services.limit(.passwordReset, context)
        var request = request
        let body = try await request.decodeJSON(ForgotInput.self, context: context).value
        try await services.requestPasswordReset(email: body.email, client: context.client(request))
        return try Accepted().response(from: request, context: context).with(status: .accepted)
    }

    @Sendable func reset(_ request: Request, context: AppRequestContext) async throws -> Done {
        try await services.limit(.passwordReset, context)
        var request = request
        let body = try await request.decodeJSON(ResetInput.self, context: context).value
        try await services.identity.resetPassword(
            token: body.token, newPassword: body.newPassword, code: body.code, client: context.client(request))
        return Done(message: "Password reset; every session is signed out.")
    }

    @Sendable func verify(_ request: Request, context: AppRequestContext) async throws -> Done {
        try await following(request, context, done: "Your email is confirmed.", services.identity.verifyEmail)
    }

    /// The link mailed to a new address: the account moves there.
    @Sendable func confirmChange(_ request: Request, context: AppRequestContext) async throws -> Done {
        try await following(
            request, context,
            done: "Your account's email is changed; the old address was told, with a link to undo it.",
            services.identity.confirmEmailChange)
    }

    /// The link mailed to the old address: the account moves back, and every session ends.
    @Sendable func undoChange(_ request: Request, context: AppRequestContext) async throws -> Done {
        try await following(
            request, context,
            done:
                "Your account is back at this address; its password, passkeys and two-factor set-up are removed and every session is signed out. Reset your password.",
            services.identity.undoEmailChange)
    }

    /// A mailed link's token, posted as `{token}`, given to `action`; limited per client address as the
    /// links are asked for.
    private func following(
        _ request: Request, _ context: AppRequestContext, done: String,
        _ action: (_ token: String, _ client: ClientInfo) async throws -> Void
    ) async throws -> Done {
        try await services.limit(.passwordReset, context)
        var request = request
        let body = try await request.decodeJSON(TokenInput.self, context: context).value
        try await action(body.token, context.client(request))
        return Done(message: done)
    }

    @Sendable func resend(_ request: Request, context: AppRequestContext) async throws -> Response {
        let user = try context.requireUser()
        try await services.resendVerification(user)
        return try Accepted(message: "A new link to confirm your email is on its way.")
            .response(from: request, context: context).with(status: .accepted)
    }
}
