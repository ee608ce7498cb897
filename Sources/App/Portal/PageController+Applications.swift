import Foundation
import HTTPTypes
import Hummingbird
import Identity
import PQCrypto

/// The applications page: administrators register the applications that sign people in through QSPP
/// or call it as machines, give a client a new secret, and delete one. A secret is shown on the page
/// that makes it, and never again. The rules, the step-up and the audit are
/// ``IdentityService/registerOAuthClient(_:by:password:client:)``'s, as through the API.
extension PageController {
    func addApplicationRoutes(to routes: RouteCollection<AppRequestContext>) {
        routes.get("/admin/applications", use: applicationsPage)
        routes.post("/admin/applications", use: registerApplication)
        routes.post("/admin/applications/:clientId/secret", use: rotateApplicationSecret)
        routes.post("/admin/applications/:clientId/delete", use: deleteApplication)
    }

    @Sendable func applicationsPage(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await renderApplications(context, notice: notice(request))
    }

    private func renderApplications(
        _ context: AppRequestContext, notice: String? = nil, error: String? = nil,
        issued: IdentityService.IssuedClient? = nil,
        status: HTTPResponse.Status = .ok
    ) async throws -> Response {
        let admin = try context.requireAdmin()
        var view = adminFrame("Admin: applications", context, "/admin/applications", notice: notice, error: error)
        view["clients"] = try await identity.oauthClients(by: admin).map { client -> [String: Any] in
            [
                "id": client.id, "name": client.name, "kind": client.kind.rawValue,
                "authentication": client.authentication.rawValue, "hasSecret": client.authentication.usesSecret,
                "grantTypes": client.grantTypes.sorted().map(\.rawValue).joined(separator: ", "),
                "scopes": client.scopes.sorted().map(\.rawValue).joined(separator: " "),
                "redirectURIs": client.redirectURIs, "algorithm": client.idTokenAlgorithm.rawValue,
                "createdAt": Self.date(client.createdAt),
            ]
        }
        if let issued {
            view["issued"] = ["id": issued.client.id, "name": issued.client.name, "secret": issued.secret ?? ""]
        }
        view["grantTypes"] = OAuthClient.GrantType.allCases.map { ["value": $0.rawValue] }
        view["scopes"] = OAuthClient.Scope.allCases.map { ["value": $0.rawValue, "explanation": $0.explanation] }
        view["methods"] = OAuthClient.Authentication.allCases.filter { $0 != .privateKeyJWT }.map {
            ["value": $0.rawValue]
        }
        view["algorithms"] = SigningAlgorithm.allCases.map { ["value": $0.rawValue] }
        var response = pages.render("admin-applications", view, status: status)
        // The page may carry a secret.
        response.headers[.cacheControl] = "no-store"
        return response
    }

    @Sendable func registerApplication(_ request: Request, context: AppRequestContext) async throws -> Response {
        let admin = try context.requireAdmin()
        return try await handlingForm(request, context) { form in
            let issued = try await identity.registerOAuthClient(
                try Self.registration(form), by: admin, password: form.optional("currentPassword"),
                client: context.client(request))
            return try await renderApplications(context, issued: issued, status: .created)
        } failing: { _, message, status in
            try await renderApplications(context, error: message, status: status)
        }
    }

    @Sendable func rotateApplicationSecret(_ request: Request, context: AppRequestContext) async throws -> Response {
        let admin = try context.requireAdmin()
        return try await handlingForm(request, context) { form in
            let issued = try await identity.rotateOAuthClientSecret(
                id: try Self.applicationID(context), by: admin, password: form.optional("currentPassword"),
                client: context.client(request))
            return try await renderApplications(context, issued: issued)
        } failing: { _, message, status in
            try await renderApplications(context, error: message, status: status)
        }
    }

    @Sendable func deleteApplication(_ request: Request, context: AppRequestContext) async throws -> Response {
        let admin = try context.requireAdmin()
        return try await handlingForm(request, context) { form in
            try await identity.deleteOAuthClient(
                id: try Self.applicationID(context), by: admin, password: form.optional("currentPassword"),
                client: context.client(request))
            return done("/admin/applications", .applicationDeleted)
        } failing: { _, message, status in
            try await renderApplications(context, error: message, status: status)
        }
    }

    private static func applicationID(_ context: AppRequestContext) throws -> String {
        guard let id = context.parameters.get("clientId"), id.utf8.count <= 64, Base64URL.decode(id) != nil else {
            throw Problem.notFound
        }
        return id
    }

    /// The form's registration. Lists of URIs are one per line; the rules are checked by the service.
    static func registration(_ form: FormFields) throws -> OAuthClientRegistration {
        func lines(_ name: String) -> [String] {
            (form[name] ?? "").split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
                .filter { !$0.isEmpty }
        }
        func each<Value: RawRepresentable<String>>(_ name: String, _: Value.Type) throws -> Set<Value> {
            var values: Set<Value> = []
            for raw in form.all(name) {
                guard let value = Value(rawValue: raw) else { throw Problem.invalid("\(raw) is not a choice here") }
                values.insert(value)
            }
            return values
        }
        guard let kind = form["kind"].flatMap(OAuthClient.Kind.init(rawValue:)) else {
            throw Problem.invalid("choose whether the application keeps a secret")
        }
        guard let algorithm = SigningAlgorithm(rawValue: form["idTokenAlgorithm"] ?? "") else {
            throw Problem.invalid("choose the ID tokens' algorithm")
        }
        let method = form.optional("tokenEndpointAuthMethod").flatMap(OAuthClient.Authentication.init(rawValue:))
        return OAuthClientRegistration(
            name: try form.required("name", label: "The name"), kind: kind,
            authentication: kind == .public ? OAuthClient.Authentication.none : method,
            redirectURIs: lines("redirectUris"), grantTypes: try each("grantTypes", OAuthClient.GrantType.self),
            scopes: try each("scopes", OAuthClient.Scope.self),
            backChannelLogoutURI: form.optional("backchannelLogoutUri"),
            postLogoutRedirectURIs: lines("postLogoutRedirectUris"),
            requiresPushedRequests: form.isChecked("requirePushedAuthorizationRequests"), idTokenAlgorithm: algorithm)
    }
}
