import Foundation
import Hummingbird
import Identity
import Kernel
import NIOCore
import Outbox
import PQCrypto

/// Security: sessions with a revoke button each, MFA setup with a QR code and recovery codes,
/// password change and account deletion.
extension PageController {
    func addSecurityRoutes(to routes: RouteCollection<AppRequestContext>) {
        routes.get("/my/security", use: securityPage)
        routes.get("/my/security/applications/receipts/:eventId", use: grantReceipt)
        routes.post("/my/security/sessions/:sessionId/revoke", use: revokeSession)
        routes.post("/my/security/mfa", use: beginMFA)
        routes.post("/my/security/mfa/confirm", use: confirmMFA)
        routes.post("/my/security/mfa/disable", use: disableMFA)
        routes.post("/my/security/password", use: changePassword)
        routes.post("/my/security/password/remove", use: removePassword)
        routes.post("/my/security/delete", use: deleteAccount)
        routes.post("/my/security/notices", use: saveNotices)
    }

    @Sendable func saveNotices(_ request: Request, context: AppRequestContext) async throws -> Response {
        let user = try context.requireUser()
        return try await handlingForm(request, context) { form in
            try await identity.setMutedNotices(
                user: user, form.isChecked("newSignIn") ? [] : [.newSignIn], client: context.client(request))
            return done("/my/security", .noticesSaved)
        } failing: { _, message, status in
            try await renderSecurity(context, error: message, status: status)
        }
    }

    @Sendable func securityPage(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await renderSecurity(context, notice: notice(request))
    }

    @Sendable func revokeSession(_ request: Request, context: AppRequestContext) async throws -> Response {
        let user = try context.requireUser()
        guard let id = context.parameters.get("sessionId").flatMap(UUID.init(uuidString:)) else {
            throw Problem.notFound
        }
        try await identity.revokeSession(id, owner: user.userID, by: user, client: context.client(request))
        if id == user.sessionID { return seeOther("/login", cookies: WebCookie.endSession) }
        return done("/my/security", .sessionRevoked)
    }

    @Sendable func beginMFA(_ request: Request, context: AppRequestContext) async throws -> Response {
        let user = try context.requireUser()
        return try await handlingForm(request, context) { form in
            let setup = try await identity.beginTOTPSetup(
                user: user, currentPassword: form.optional("currentPassword"), client: context.client(request))
            return renderMFASetup(context, secret: setup.secret, uri: setup.provisioningURI)
        } failing: { _, message, status in
            return try await renderSecurity(context, error: message, status: status)
        }
    }

    @Sendable func confirmMFA(_ request: Request, context: AppRequestContext) async throws -> Response {
        let user = try context.requireUser()
        return try await handlingForm(request, context) { form in
            try await services.limit(.mfa, context)
            let codes = try await identity.confirmTOTP(
                user: user, code: form["code"] ?? "", client: context.client(request))
            var view = PageFrame(title: "Security", context: context, section: "/my/security").values
            view["recoveryCodes"] = codes
            return pages.render("mfa-recovery", view)
        } failing: { _, message, status in
            return try await renderSecurity(
                context, error: message + " Two-factor authentication is still off; set it up again.",
                status: status)
        }
    }

    @Sendable func disableMFA(_ request: Request, context: AppRequestContext) async throws -> Response {
        let user = try context.requireUser()
        return try await handlingForm(request, context) { form in
            try await services.limit(.mfa, context)
            try await identity.disableMFA(
                user: user, code: form.optional("code"), password: form.optional("password"),
                client: context.client(request))
            return done("/my/security", .mfaDisabled)
        } failing: { _, message, status in
            return try await renderSecurity(context, error: message, status: status)
        }
    }

    @Sendable func changePassword(_ request: Request, context: AppRequestContext) async throws -> Response {
        let user = try context.requireUser()
        return try await handlingForm(request, context) { form in
            let new = form["newPassword"] ?? ""
            guard new == form["confirmPassword"] else { throw Problem.invalid("the two new passwords differ") }
            try await identity.changePassword(
                user: user, current: form["currentPassword"] ?? "", new: new, client: context.client(request))
            return done("/my/security", .passwordChanged)
        } failing: { _, message, status in
            return try await renderSecurity(context, error: message, status: status)
        }
    }

    @Sendable func removePassword(_ request: Request, context: AppRequestContext) async throws -> Response {
        let user = try context.requireUser()
        return try await handlingForm(request, context) { form in
            try await identity.removePassword(
                user: user, currentPassword: form.optional("currentPassword"), client: context.client(request))
            return done("/my/security", .passwordRemoved)
        } failing: { _, message, status in
            try await renderSecurity(context, error: message, status: status)
        }
    }

    @Sendable func deleteAccount(_ request: Request, context: AppRequestContext) async throws -> Response {
        let user = try context.requireUser()
        return try await handlingForm(request, context) { form in
            guard form["confirm"] == "delete" else {
                throw Problem.invalid("tick the box to confirm that the account is to be deleted")
            }
            try await identity.deleteAccount(
                user: user, password: form["password"] ?? "", client: context.client(request))
            return seeOther("/login?done=\(PageNotice.accountDeleted.rawValue)", cookies: WebCookie.endSession)
        } failing: { _, message, status in
            return try await renderSecurity(context, error: message, status: status)
        }
    }

    private func renderMFASetup(
        _ context: AppRequestContext, secret: String, uri: String, error: String? = nil,
        status: HTTPResponse.Status = .ok
    ) -> Response {
        var view = PageFrame(title: "Security", context: context, section: "/my/security", error: error).values
        view["secret"] = secret
        view["qrCode"] = try? QRCode(encoding: uri).svg(label: "QR code for your authenticator app")
        return pages.render("mfa-setup", view, status: status)
    }

    func renderSecurity(
        _ context: AppRequestContext, notice: String? = nil, error: String? = nil, status: HTTPResponse.Status = .ok
    ) async throws -> Response {
        let user = try context.requireUser()
        guard let account = try await identity.account(id: user.userID) else { throw Problem.notFound }
        var view = PageFrame(title: "Security", context: context, section: "/my/security", notice: notice, error: error)
            .values
        view["mfaEnabled"] = account.mfaEnabled
        view["newSignInNotice"] = !account.mutedNotices.contains(.newSignIn)
        view["recoveryCodesRemaining"] = account.recoveryCodesRemaining
        let passkeys = try await passkeyRows(user)
        view["passkeys"] = passkeys
        view["hasPasskeys"] = !passkeys.isEmpty
        view["hasPassword"] = account.hasPassword
        view["passwordRemovable"] = account.hasPassword && !passkeys.isEmpty
        view["sessions"] = try await identity.sessions(of: user.userID).sorted { $0.lastUsedAt > $1.lastUsedAt }.map {
            session -> [String: Any] in
            [
                "id": session.id.lowercasedString, "createdAt": Self.date(session.createdAt),
                "lastUsedAt": Self.date(session.lastUsedAt), "address": session.client.ipAddress ?? "unknown",
                "userAgent": session.client.userAgent ?? "unknown", "current": session.id == user.sessionID,
                "rememberMe": session.rememberMe, "mfa": session.isMultiFactor,
            ]
        }
        let applications = try await identity.connectedApplications(of: user).map { grant, client -> [String: Any] in
            [
                "clientId": client.id, "name": client.name, "grantedAt": Self.date(grant.grantedAt),
                "scopes": grant.scopes.sorted().map(\.rawValue).joined(separator: ", "),
            ]
        }
        view["applications"] = applications
        view["hasApplications"] = !applications.isEmpty
        let names = Dictionary(applications.map { ($0["clientId"] as? String ?? "", $0["name"] as? String ?? "") }) {
            first, _ in first
        }
        let history = try await Self.applicationDecisions(identity, user).map { event -> [String: Any] in
            let client = event.details["client_id"] ?? ""
            return [
                "id": event.id.lowercasedString, "at": Self.date(event.occurredAt), "client": names[client] ?? client,
                "decision": event.kind == .oauthGranted ? "Allowed" : "Disconnected",
                "scopes": (event.details["scope"] ?? "").replacingOccurrences(of: " ", with: ", "),
            ]
        }
        view["applicationHistory"] = history
        view["hasApplicationHistory"] = !history.isEmpty
        return pages.render("security", view, status: status)
    }

    /// The person's decisions about applications, newest first: each grant and each withdrawal.
    static func applicationDecisions(_ identity: IdentityService, _ user: AuthenticatedUser) async throws -> [AuthEvent]
    {
        try await identity.authEvents(userID: user.userID, limit: 500).filter {
            $0.kind == .oauthGranted || $0.kind == .oauthDisconnected
        }
    }

    /// The signed receipt of one of the person's decisions about an application.
    @Sendable func grantReceipt(_ request: Request, context: AppRequestContext) async throws -> Response {
        let user = try context.requireUser()
        guard let id = context.parameters.get("eventId").flatMap(UUID.init(uuidString:)),
            let event = try await Self.applicationDecisions(identity, user).first(where: { $0.id == id }),
            let jws = try await services.receipts.signedGrantReceipt(for: event)
        else { throw Problem.notFound }
        return Response(
            status: .ok,
            headers: [
                .contentType: "application/jose",
                .contentDisposition: "attachment; filename=\"application-receipt-\(id.lowercasedString).jws\"",
            ],
            body: .init(byteBuffer: ByteBuffer(string: jws)))
    }
}
