import Foundation
import Hummingbird
import Identity
import PQCrypto

/// Passkeys in the portal: sign-in without a password (a button, and the browser's autofill), the
/// passkey second factor, and the list on the security page. A ceremony needs the browser's
/// WebAuthn API, so `portal.js` fetches its options as JSON and posts the browser's answer back in an
/// ordinary form, which answers as every other form does.
extension PageController {
    func addPasskeyRoutes(to routes: RouteCollection<AppRequestContext>) {
        routes.post("/login/passkey/options", use: signInOptions)
        routes.post("/login/passkey", use: passkeySignIn)
        routes.post("/login/mfa/passkey/options", use: secondFactorOptions)
        routes.post("/my/security/passkeys/options", use: registrationOptions)
        routes.post("/my/security/passkeys", use: addPasskey)
        routes.post("/my/security/passkeys/:passkeyId/rename", use: renamePasskey)
        routes.post("/my/security/passkeys/:passkeyId/remove", use: removePasskey)
    }

    /// Options as JSON for `portal.js`; a failure is `{"error": …}` with its status, for the page to show.
    private func ceremonyOptions(
        _ request: Request, _ context: AppRequestContext, _ options: (FormFields) async throws -> any ResponseEncodable
    ) async throws -> Response {
        var request = request
        let form = try await request.form(context: context)
        do {
            return try await options(form).response(from: request, context: context).noStore
        } catch {
            let failure = try formFailure(error)
            return try CeremonyFailure(error: failure.message).response(from: request, context: context)
                .with(status: failure.status)
        }
    }

    struct CeremonyFailure: ResponseEncodable {
        var error: String
    }

    @Sendable func signInOptions(_ request: Request, context: AppRequestContext) async throws -> Response {
        // Not counted as a sign-in: the sign-in page asks for these on every visit, for autofill.
        try await ceremonyOptions(request, context) { _ in
            PasskeyRequestOptionsOutput(try await identity.beginPasskeySignIn())
        }
    }

    @Sendable func passkeySignIn(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await handlingForm(request, context) { form in
            try await services.limit(.login, context)
            let grant = try await identity.finishPasskeySignIn(
                try Self.decode(PasskeyAssertionInput.self, form["credential"]).assertion,
                rememberMe: form.isChecked("rememberMe"), client: context.client(request))
            return try await signedIn(grant, next: form["next"])
        } failing: { _, message, status in
            pages.render("login", PageFrame(title: "Sign in", context: context, error: message).values, status: status)
        }
    }

    @Sendable func secondFactorOptions(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await ceremonyOptions(request, context) { form in
            try await services.limit(.mfa, context)
            return PasskeyRequestOptionsOutput(
                try await identity.beginPasskeySecondFactor(mfaChallenge: form["mfaToken"] ?? ""))
        }
    }

    @Sendable func registrationOptions(_ request: Request, context: AppRequestContext) async throws -> Response {
        let user = try context.requireUser()
        return try await ceremonyOptions(request, context) { form in
            PasskeyCreationOptionsOutput(
                try await identity.beginPasskeyRegistration(
                    user: user, currentPassword: form.optional("currentPassword"), client: context.client(request)))
        }
    }

    @Sendable func addPasskey(_ request: Request, context: AppRequestContext) async throws -> Response {
        let user = try context.requireUser()
        return try await handlingForm(request, context) { form in
            _ = try await identity.finishPasskeyRegistration(
                user: user, name: form["name"],
                registration: try Self.decode(PasskeyRegistrationInput.self, form["credential"]).registration,
                client: context.client(request))
            return done("/my/security", .passkeyAdded)
        } failing: { _, message, status in
            try await renderSecurity(context, error: message, status: status)
        }
    }

    @Sendable func renamePasskey(_ request: Request, context: AppRequestContext) async throws -> Response {
        let user = try context.requireUser()
        let id = try PasskeyController.passkeyID(context)
        return try await handlingForm(request, context) { form in
            try await identity.renamePasskey(
                user: user, id: id, name: form["name"] ?? "", client: context.client(request))
            return done("/my/security", .passkeyRenamed)
        } failing: { _, message, status in
            try await renderSecurity(context, error: message, status: status)
        }
    }

    @Sendable func removePasskey(_ request: Request, context: AppRequestContext) async throws -> Response {
        let user = try context.requireUser()
        let id = try PasskeyController.passkeyID(context)
        return try await handlingForm(request, context) { _ in
            try await identity.removePasskey(user: user, id: id, client: context.client(request))
            return done("/my/security", .passkeyRemoved)
        } failing: { _, message, status in
            try await renderSecurity(context, error: message, status: status)
        }
    }

    /// The passkeys listed on the security page.
    func passkeyRows(_ user: AuthenticatedUser) async throws -> [[String: Any]] {
        try await identity.passkeys(user: user).map { passkey in
            let output = PasskeyOutput(passkey)
            return [
                "id": output.id, "name": passkey.name, "algorithm": output.algorithm, "synced": passkey.backedUp,
                "createdAt": Self.date(passkey.createdAt), "lastUsedAt": passkey.lastUsedAt.map(Self.date) ?? "never",
            ]
        }
    }

    /// The browser's answer, posted as JSON text in a form field.
    static func decode<Value: Decodable>(_: Value.Type, _ text: String?) throws -> Value {
        guard let text, !text.isEmpty else { throw Problem.invalid("the passkey's answer is missing") }
        do {
            return try JSONDecoder().decode(Value.self, from: Data(text.utf8))
        } catch {
            throw Problem.invalid("the passkey's answer is not what a browser sends")
        }
    }
}
