import Consent
import Foundation
import Hummingbird
import Identity
import Kernel
import Outbox
import PQCrypto
import Services

/// The caller's own account under `/v1/me`: profile, password, deletion, sessions and MFA.
struct MeController {
    let services: QSPPServices
    var identity: IdentityService { services.identity }

    var endpoints: RouteCollection<AppRequestContext> {
        let routes = RouteCollection(context: AppRequestContext.self)
        routes.get("/v1/me", use: me)
        routes.patch("/v1/me", use: rectify)
        routes.delete("/v1/me", use: deleteAccount)
        routes.post("/v1/me/password", use: changePassword)
        routes.delete("/v1/me/password", use: removePassword)
        routes.get("/v1/me/sessions", use: sessions)
        routes.delete("/v1/me/sessions/:sessionId", use: revokeSession)
        routes.post("/v1/me/mfa/totp", use: beginTOTP)
        routes.post("/v1/me/mfa/totp/confirm", use: confirmTOTP)
        routes.post("/v1/me/mfa/disable", use: disableMFA)
        routes.get("/v1/me/access-log", use: accessLog)
        routes.put("/v1/me/notices", use: setNotices)
        return routes
    }

    struct AccessLog: ResponseCodable {
        struct Access: Codable {
            var id: String
            var occurredAt: String
            var staffId: String
            var action: String
            var requestId: String?
            var reason: String?
        }
        var accesses: [Access]
    }

    /// Who at the organisation read or exported the caller's data, and why (GDPR Art. 15(1)(c)).
    @Sendable func accessLog(_ request: Request, context: AppRequestContext) async throws -> AccessLog {
        let user = try context.requireUser()
        return AccessLog(
            accesses: try await services.privacy.staffAccesses(to: user.subjectID).map { access in
                var output = AccessLog.Access(
                    id: access.id.lowercasedString, occurredAt: RFC3339.string(from: access.at),
                    staffId: access.staff.lowercasedString, action: access.action.rawValue)
                switch access.purpose {
                case .request(let id): output.requestId = id.lowercasedString
                case .reason(let reason): output.reason = reason
                }
                return output
            })
    }

    /// The mail notices a person may turn off, and whether each is on.
    struct Notices: ResponseCodable, Decodable {
        var newSignIn: Bool
    }

    @Sendable func setNotices(_ request: Request, context: AppRequestContext) async throws -> Notices {
        let user = try context.requireUser()
        var request = request
        let input = try await request.decodeJSON(Notices.self, context: context).value
        try await identity.setMutedNotices(
            user: user, input.newSignIn ? [] : [.newSignIn], client: context.client(request))
        return input
    }

    struct Profile: ResponseCodable {
        var id: String
        var email: String
        /// Whether the owner followed the link mailed to the email.
        var emailVerified: Bool
        var notices: Notices
        /// The language of the account's mail.
        var locale: String
        var displayName: String?
        var roles: [String]
        /// Set while processing is restricted (GDPR Art. 18).
        var restrictedSince: String?
        var mfaEnabled: Bool
        /// False for an account that signs in with passkeys only.
        var hasPassword: Bool
        var recoveryCodesRemaining: Int
        var createdAt: String
        var sessionId: String
        var amr: [String]
        /// After a new email: a link that moves the account there was mailed to it.
        var emailChangeMailed: Bool?
    }

    struct ProfileInput: Decodable {
        var email: String?
        /// An empty string removes the display name.
        var displayName: String?
        /// Needed for a new email when the sign-in is older than `IdentityService.stepUpWindow`.
        var currentPassword: String?
        /// The language of the account's mail, a language tag; empty for English.
        var locale: String?

        enum CodingKeys: String, CodingKey { case email, displayName, currentPassword, locale }

        init(from decoder: any Decoder) throws {
            try decoder.rejectUnknownKeys(CodingKeys.self)
            let container = try decoder.container(keyedBy: CodingKeys.self)
            email = try container.decodeIfPresent(String.self, forKey: .email)
            displayName = try container.decodeIfPresent(String.self, forKey: .displayName)
            currentPassword = try container.decodeIfPresent(String.self, forKey: .currentPassword)
            locale = try container.decodeIfPresent(String.self, forKey: .locale)
        }
    }

    /// The optional body of a step-up: the current password, when the sign-in is not recent.
    struct StepUpInput: Decodable {
        var currentPassword: String?

        enum CodingKeys: String, CodingKey { case currentPassword }

        init(from decoder: any Decoder) throws {
            try decoder.rejectUnknownKeys(CodingKeys.self)
            currentPassword = try decoder.container(keyedBy: CodingKeys.self)
                .decodeIfPresent(String.self, forKey: .currentPassword)
        }
    }

    /// The password, which an account that signs in with passkeys only has not got.
    struct PasswordInput: Decodable {
        var password: String?
    }

    struct PasswordChange: Decodable {
        var currentPassword: String
        var newPassword: String
    }

    struct CodeInput: Decodable {
        var code: String
    }

    struct DisableInput: Decodable {
        var code: String?
        var password: String?
    }

    struct TOTPSetupOutput: ResponseCodable {
        var secret: String
        var otpauthUri: String
        /// The URI as a QR code, an SVG document to show to the person's authenticator app.
        var qrCodeSvg: String?
    }

    struct RecoveryCodes: ResponseCodable {
        var recoveryCodes: [String]
    }

    @Sendable func me(_ request: Request, context: AppRequestContext) async throws -> Profile {
        let user = try context.requireUser()
        guard let account = try await identity.account(id: user.userID) else { throw Problem.notFound }
        return try await profile(account, user)
    }

    /// Rectification by the person themselves (GDPR Art. 16): email and display name.
    @Sendable func rectify(_ request: Request, context: AppRequestContext) async throws -> Profile {
        let user = try context.requireUser()
        var request = request
        let input = try await request.decodeJSON(ProfileInput.self, context: context).value
        let rectified = try await services.restrictedWrites.rectifyOwn(
            user, email: input.email, displayName: input.displayName, currentPassword: input.currentPassword,
            locale: input.locale, client: context.client(request))
        var profile = try await profile(rectified.account, user)
        if rectified.emailChangeMailed { profile.emailChangeMailed = true }
        return profile
    }

    private func profile(_ account: Account, _ user: Principal) async throws -> Profile {
        Profile(
            id: account.subjectID, email: account.email.normalized, emailVerified: account.emailVerifiedAt != nil,
            notices: Notices(newSignIn: !account.mutedNotices.contains(.newSignIn)), locale: account.locale ?? "en",
            displayName: account.displayName,
            roles: account.roles.map(\.rawValue).sorted(),
            restrictedSince: try await services.restrictions.restrictedSince(account.subjectID).map(RFC3339.string),
            mfaEnabled: account.mfaEnabled, hasPassword: account.hasPassword,
            recoveryCodesRemaining: account.recoveryCodesRemaining,
            createdAt: RFC3339.string(from: account.createdAt), sessionId: user.sessionID.lowercasedString,
            amr: user.authenticationMethods)
    }

    /// Passkeys only from now on: refused (409 `last-sign-in-method`) without a passkey.
    @Sendable func removePassword(_ request: Request, context: AppRequestContext) async throws -> HTTPResponse.Status {
        let user = try context.requireUser()
        var request = request
        let body = try await request.decodeOptionalJSON(StepUpInput.self, context: context)
        try await identity.removePassword(
            user: user, currentPassword: body?.currentPassword, client: context.client(request))
        return .noContent
    }

    @Sendable func deleteAccount(_ request: Request, context: AppRequestContext) async throws -> Response {
        let user = try context.requireUser()
        var request = request
        let body = try await request.decodeOptionalJSON(PasswordInput.self, context: context)
        try await identity.deleteAccount(user: user, password: body?.password ?? "", client: context.client(request))
        var response = Response(status: .noContent)
        response.headers[.setCookie] = AuthController.cookie(value: "", maxAge: 0)
        return response
    }

    @Sendable func changePassword(_ request: Request, context: AppRequestContext) async throws -> HTTPResponse.Status {
        let user = try context.requireUser()
        var request = request
        let body = try await request.decodeJSON(PasswordChange.self, context: context).value
        try await identity.changePassword(
            user: user, current: body.currentPassword, new: body.newPassword, client: context.client(request))
        return .noContent
    }

    @Sendable func sessions(_ request: Request, context: AppRequestContext) async throws -> SessionList {
        let user = try context.requireUser()
        return SessionList(try await identity.sessions(of: user.userID), current: user.sessionID)
    }

    @Sendable func revokeSession(_ request: Request, context: AppRequestContext) async throws -> HTTPResponse.Status {
        let user = try context.requireUser()
        guard let id = context.parameters.get("sessionId").flatMap({ UUID(uuidString: $0) }) else {
            throw Problem.notFound
        }
        try await identity.revokeSession(id, owner: user.userID, by: user, client: context.client(request))
        return .noContent
    }

    @Sendable func beginTOTP(_ request: Request, context: AppRequestContext) async throws -> TOTPSetupOutput {
        let user = try context.requireUser()
        var request = request
        let body = try await request.decodeOptionalJSON(StepUpInput.self, context: context)
        let setup = try await identity.beginTOTPSetup(
            user: user, currentPassword: body?.currentPassword, client: context.client(request))
        return TOTPSetupOutput(
            secret: setup.secret, otpauthUri: setup.provisioningURI,
            qrCodeSvg: try? QRCode(encoding: setup.provisioningURI).svg(label: "QR code for your authenticator app"))
    }

    @Sendable func confirmTOTP(_ request: Request, context: AppRequestContext) async throws -> RecoveryCodes {
        let user = try context.requireUser()
        try await services.limit(.mfa, context)
        var request = request
        let body = try await request.decodeJSON(CodeInput.self, context: context).value
        return RecoveryCodes(
            recoveryCodes: try await identity.confirmTOTP(user: user, code: body.code, client: context.client(request)))
    }

    @Sendable func disableMFA(_ request: Request, context: AppRequestContext) async throws -> HTTPResponse.Status {
        let user = try context.requireUser()
        try await services.limit(.mfa, context)
        var request = request
        let body = try await request.decodeJSON(DisableInput.self, context: context).value
        try await identity.disableMFA(
            user: user, code: body.code, password: body.password, client: context.client(request))
        return .noContent
    }
}

struct SessionList: ResponseCodable {
    struct Item: Codable {
        var id: String
        var createdAt: String
        var lastUsedAt: String
        var ipAddress: String?
        var userAgent: String?
        var rememberMe: Bool
        var amr: [String]
        var current: Bool
    }
    var sessions: [Item]

    init(_ sessions: [Session], current: UUID?) {
        self.sessions = sessions.map { session in
            Item(
                id: session.id.lowercasedString, createdAt: RFC3339.string(from: session.createdAt),
                lastUsedAt: RFC3339.string(from: session.lastUsedAt), ipAddress: session.client.ipAddress,
                userAgent: session.client.userAgent, rememberMe: session.rememberMe,
                amr: session.authenticationMethods, current: session.id == current)
        }
    }
}

/// What administrators may do to other users' sessions.
struct UserAdminController {
    let services: QSPPServices

    var endpoints: RouteCollection<AppRequestContext> {
        let routes = RouteCollection(context: AppRequestContext.self)
        routes.get("/v1/users/:userId/sessions", use: sessions)
        routes.delete("/v1/users/:userId/sessions", use: revokeAll)
        routes.delete("/v1/users/:userId/sessions/:sessionId", use: revokeOne)
        return routes
    }

    struct Revoked: ResponseCodable {
        var revoked: Int
    }

    private func userID(_ context: AppRequestContext) throws -> UUID {
        guard let id = context.parameters.get("userId").flatMap({ UUID(uuidString: $0) }) else {
            throw Problem.notFound
        }
        return id
    }

    @Sendable func sessions(_ request: Request, context: AppRequestContext) async throws -> SessionList {
        _ = try context.requireAdmin()
        let user = try userID(context)
        try await context.recordStaffRead(
            of: user.lowercasedString, .sessions, request, privacy: services.privacy)
        return SessionList(try await services.identity.sessions(of: user), current: nil)
    }

    @Sendable func revokeAll(_ request: Request, context: AppRequestContext) async throws -> Revoked {
        let admin = try context.requireAdmin()
        return Revoked(
            revoked: try await services.identity.revokeAllSessions(
                of: try userID(context), by: admin, client: context.client(request)))
    }

    @Sendable func revokeOne(_ request: Request, context: AppRequestContext) async throws -> HTTPResponse.Status {
        let admin = try context.requireAdmin()
        guard let session = context.parameters.get("sessionId").flatMap({ UUID(uuidString: $0) }) else {
            throw Problem.notFound
        }
        try await services.identity.revokeSession(
            session, owner: try userID(context), by: admin, client: context.client(request))
        return .noContent
    }
}
