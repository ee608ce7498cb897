import Foundation
import HTTPTypes
import Hummingbird
import Identity
import PQCrypto
import Services

/// Passkeys: passwordless sign-in and the passkey second factor under `/v1/auth/passkey`, and the
/// caller's own passkeys under `/v1/me/passkeys`. Every ceremony is two calls: options (with a
/// challenge), then the browser's answer to them.
struct PasskeyController {
    let services: QSPPServices
    let auth: AuthController
    var identity: IdentityService { services.identity }

    var endpoints: RouteCollection<AppRequestContext> {
        let routes = RouteCollection(context: AppRequestContext.self)
        routes.post("/v1/auth/passkey/options", use: signInOptions)
        routes.post("/v1/auth/passkey", use: signIn)
        routes.post("/v1/auth/mfa/passkey/options", use: secondFactorOptions)
        routes.get("/v1/me/passkeys", use: list)
        routes.post("/v1/me/passkeys/options", use: registrationOptions)
        routes.post("/v1/me/passkeys", use: register)
        routes.patch("/v1/me/passkeys/:passkeyId", use: rename)
        routes.delete("/v1/me/passkeys/:passkeyId", use: remove)
        return routes
    }

    struct SignInInput: Decodable {
        var credential: PasskeyAssertionInput
        var rememberMe: Bool?
    }

    struct SecondFactorInput: Decodable {
        var mfaToken: String
    }

    struct RegistrationInput: Decodable {
        var name: String?
        var credential: PasskeyRegistrationInput
    }

    struct RenameInput: Decodable {
        var name: String
    }

    /// Not counted as a sign-in (the portal asks on every visit of its sign-in page, for autofill); the
    /// global limit per address bounds it.
    @Sendable func signInOptions(_ request: Request, context: AppRequestContext) async throws -> Response {
        try PasskeyRequestOptionsOutput(try await identity.beginPasskeySignIn())
            .response(from: request, context: context).noStore
    }

    @Sendable func signIn(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await services.limit(.login, context)
        var request = request
        let body = try await request.decodeJSON(SignInInput.self, context: context).value
        let grant = try await identity.finishPasskeySignIn(
            try body.credential.assertion, rememberMe: body.rememberMe ?? false, client: context.client(request))
        return try auth.tokens(grant, request, context)
    }

    @Sendable func secondFactorOptions(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await services.limit(.mfa, context)
        var request = request
        let body = try await request.decodeJSON(SecondFactorInput.self, context: context).value
        return try PasskeyRequestOptionsOutput(try await identity.beginPasskeySecondFactor(mfaChallenge: body.mfaToken))
            .response(from: request, context: context).noStore
    }

    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> PasskeyList {
        let user = try context.requireUser()
        return PasskeyList(passkeys: try await identity.passkeys(user: user).map(PasskeyOutput.init))
    }

    @Sendable func registrationOptions(_ request: Request, context: AppRequestContext) async throws -> Response {
        let user = try context.requireUser()
        var request = request
        let body = try await request.decodeOptionalJSON(MeController.StepUpInput.self, context: context)
        let options = try await identity.beginPasskeyRegistration(
            user: user, currentPassword: body?.currentPassword, client: context.client(request))
        return try PasskeyCreationOptionsOutput(options).response(from: request, context: context).noStore
    }

    @Sendable func register(_ request: Request, context: AppRequestContext) async throws -> Response {
        let user = try context.requireUser()
        var request = request
        let body = try await request.decodeJSON(RegistrationInput.self, context: context).value
        let passkey = try await identity.finishPasskeyRegistration(
            user: user, name: body.name, registration: try body.credential.registration,
            client: context.client(request))
        return try PasskeyOutput(passkey).response(from: request, context: context).with(status: .created)
    }

    @Sendable func rename(_ request: Request, context: AppRequestContext) async throws -> HTTPResponse.Status {
        let user = try context.requireUser()
        let id = try Self.passkeyID(context)
        var request = request
        let body = try await request.decodeJSON(RenameInput.self, context: context).value
        try await identity.renamePasskey(user: user, id: id, name: body.name, client: context.client(request))
        return .noContent
    }

    @Sendable func remove(_ request: Request, context: AppRequestContext) async throws -> HTTPResponse.Status {
        let user = try context.requireUser()
        try await identity.removePasskey(user: user, id: try Self.passkeyID(context), client: context.client(request))
        return .noContent
    }

    /// The `:passkeyId` of the path: a credential id in base64url.
    static func passkeyID(_ context: AppRequestContext) throws -> Data {
        guard let id = context.parameters.get("passkeyId").flatMap(Base64URL.decode), !id.isEmpty else {
            throw Problem.notFound
        }
        return id
    }
}

extension Response {
    /// Options carry a challenge meant for one ceremony: no cache may keep them.
    var noStore: Response {
        var response = self
        response.headers[.cacheControl] = "no-store"
        return response
    }
}
