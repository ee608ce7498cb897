import Consent
import Foundation
import HTTPTypes
import Hummingbird
import Identity
import Kernel
import Services

/// Registration, login (with the MFA step), refresh and logout under `/v1/auth`. Login, registration
/// and MFA are rate-limited per client address, in the database, so the limits hold across replicas.
struct AuthController {
    let services: QSPPServices
    var identity: IdentityService { services.identity }
    static let refreshCookie = "refreshToken"

    var endpoints: RouteCollection<AppRequestContext> {
        let routes = RouteCollection(context: AppRequestContext.self)
        routes.post("/v1/auth/register", use: register)
        routes.post("/v1/auth/login", use: login)
        routes.post("/v1/auth/mfa", use: completeMFA)
        routes.post("/v1/auth/refresh", use: refresh)
        routes.post("/v1/auth/logout", use: logout)
        return routes
    }

    struct Credentials: Decodable {
        var email: String
        var password: String
        var rememberMe: Bool?
        /// At registration: the language of the account's mail (else `Accept-Language` decides).
        var locale: String?
    }

    /// The second factor: a code, or a passkey's answer to `/v1/auth/mfa/passkey/options`.
    struct MFAInput: Decodable {
        var mfaToken: String
        var code: String?
        var passkey: PasskeyAssertionInput?
    }

    struct RefreshInput: Decodable {
        var refreshToken: String?
    }

    struct LogoutInput: Decodable {
        var everywhere: Bool?
    }

    /// The one answer to a registration, whether or not the email had an account: its owner hears by
    /// mail either way.
    struct Registered: ResponseCodable {
        var status = "accepted"
        var message = "Check your inbox: a link to confirm the address is on its way."
    }

    struct UserOutput: ResponseCodable {
        var id: String
        var email: String
    }

    struct Tokens: ResponseCodable {
        var status = "success"
        var message = "Login successful"
        var accessToken: String
        var tokenType = "Bearer"
        var expiresIn: Int
        var refreshToken: String?
        var refreshTokenExpiresAt: String
        var user: UserOutput
    }

    struct MFARequired: ResponseCodable {
        var status = "mfa_required"
        var message = "Enter the code from your authenticator app or a recovery code, or use a passkey"
        var mfaToken: String
        /// Whether `/v1/auth/mfa/passkey/options` has passkeys to offer.
        var passkeys: Bool
    }

    @Sendable func register(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await services.limit(.registration, context)
        var request = request
        let body = try await request.decodeJSON(Credentials.self, context: context).value
        try await identity.register(
            email: body.email, password: body.password, client: context.client(request),
            locale: body.locale ?? request.headers[.acceptLanguage])
        return try Registered().response(from: request, context: context).with(status: .accepted)
    }

    @Sendable func login(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await login(request, context, refreshInBodyOnlyWithRememberMe: false)
    }

    /// Upstream's portal returned the refresh token in the body only with `rememberMe`; the cookie is
    /// always set.
    func login(
        _ request: Request, _ context: AppRequestContext, refreshInBodyOnlyWithRememberMe: Bool
    )
        async throws -> Response
    {
        try await services.limit(.login, context)
        var request = request
        let body = try await request.decodeJSON(Credentials.self, context: context).value
        let rememberMe = body.rememberMe ?? false
        let outcome = try await identity.login(
            email: body.email, password: body.password, rememberMe: rememberMe,
            deviceCookie: request.cookies[WebCookie.device]?.value, client: context.client(request))
        switch outcome {
        case .mfaRequired(let challenge, let passkeys):
            return try MFARequired(mfaToken: challenge, passkeys: passkeys).response(from: request, context: context)
        case .authenticated(let grant):
            return try tokens(grant, request, context, refreshInBody: rememberMe || !refreshInBodyOnlyWithRememberMe)
        }
    }

    @Sendable func completeMFA(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await services.limit(.mfa, context)
        var request = request
        let body = try await request.decodeJSON(MFAInput.self, context: context).value
        let grant: TokenGrant
        switch (body.code, body.passkey) {
        case (let code?, nil):
            grant = try await identity.completeMFALogin(
                challenge: body.mfaToken, code: code, client: context.client(request))
        case (nil, let passkey?):
            grant = try await identity.completeMFALogin(
                challenge: body.mfaToken, passkey: try passkey.assertion, client: context.client(request))
        default:
            throw Problem.invalid("send either code or passkey")
        }
        return try tokens(grant, request, context)
    }

    @Sendable func refresh(_ request: Request, context: AppRequestContext) async throws -> Response {
        var request = request
        guard let token = try await presentedRefreshToken(&request, context) else {
            throw Problem.invalid("send the refresh token in the refreshToken cookie or the body")
        }
        let grant = try await identity.refresh(refreshToken: token, client: context.client(request))
        return try tokens(grant, request, context, message: "Token refreshed")
    }

    /// Ends the caller's session (or all of them with `everywhere`). Works with an access token, or
    /// with the refresh token alone, and always clears the cookie.
    @Sendable func logout(_ request: Request, context: AppRequestContext) async throws -> Response {
        var request = request
        if context.authenticationFailure != nil { _ = try context.requireUser() }
        if context.principal != nil {
            // Through requireUser, so an application's token, which no scope lets sign anyone out, is refused.
            let user = try context.requireUser()
            let everywhere =
                request.headers[.contentLength].map { $0 != "0" } ?? false
                ? try await request.decodeJSON(LogoutInput.self, context: context).value.everywhere ?? false : false
            try await identity.logout(user: user, everywhere: everywhere, client: context.client(request))
        } else if let token = try await presentedRefreshToken(&request, context) {
            try await identity.logout(refreshToken: token, client: context.client(request))
        } else {
            throw Problem.unauthenticated
        }
        var response = Response(status: .noContent)
        response.headers[.setCookie] = Self.cookie(value: "", maxAge: 0)
        return response
    }

    // MARK: Helpers

    /// The token in the body if the client sent one (an API client means that one), else the cookie.
    private func presentedRefreshToken(_ request: inout Request, _ context: AppRequestContext) async throws -> String? {
        let hasBody = request.headers[.contentLength].map { $0 != "0" } ?? (request.headers[.transferEncoding] != nil)
        if hasBody, let token = try await request.decodeJSON(RefreshInput.self, context: context).value.refreshToken {
            return token
        }
        return request.cookies[Self.refreshCookie]?.value.nilIfEmpty
    }

    /// The token response: the refresh token goes in an `HttpOnly; Secure; SameSite=Strict` cookie and,
    /// for API clients, in the body.
    func tokens(
        _ grant: TokenGrant, _ request: Request, _ context: AppRequestContext, message: String = "Login successful",
        refreshInBody: Bool = true
    ) throws -> Response {
        let body = Tokens(
            message: message, accessToken: grant.accessToken,
            expiresIn: max(0, Int(grant.accessTokenExpiresAt.timeIntervalSinceNow.rounded())),
            refreshToken: refreshInBody ? grant.refreshToken : nil,
            refreshTokenExpiresAt: RFC3339.string(from: grant.refreshTokenExpiresAt),
            user: UserOutput(id: grant.account.subjectID, email: grant.account.email.normalized))
        var response = try body.response(from: request, context: context)
        response.headers[.setCookie] = Self.cookie(
            value: grant.refreshToken, maxAge: Int(grant.refreshTokenExpiresAt.timeIntervalSinceNow.rounded()))
        for cookie in WebCookie.deviceCookie(grant) {
            response.headers.append(HTTPField(name: .setCookie, value: cookie))
        }
        response.headers[.cacheControl] = "no-store"
        return response
    }

    static func cookie(value: String, maxAge: Int) -> String {
        "\(refreshCookie)=\(value); Path=/; Max-Age=\(max(0, maxAge)); HttpOnly; Secure; SameSite=Strict"
    }
}

extension Response {
    func with(status: HTTPResponse.Status) -> Response {
        var response = self
        response.status = status
        return response
    }
}

extension String {
    fileprivate var nilIfEmpty: String? { isEmpty ? nil : self }
}

/// The route families limited per client address, each with its configured rate per minute.
enum LimitedRoutes: String {
    case login, registration = "register", mfa, passwordReset = "password-reset"
}

extension QSPPServices {
    func limit(_ routes: LimitedRoutes, _ context: AppRequestContext) async throws {
        let perMinute =
            switch routes {
            case .login: settings.signIn.loginRateLimit
            case .registration: settings.signIn.registrationRateLimit
            case .mfa: settings.signIn.mfaRateLimit
            // As many as registration: each costs a mail, or a hash.
            case .passwordReset: settings.signIn.registrationRateLimit
            }
        try await rateLimiter.hit(
            routes.rawValue, client: context.clientAddress, rule: .init(limit: perMinute, window: 60))
    }
}
