import Foundation
import Hummingbird
import Identity
import Kernel
import PQCrypto
import Services

/// The applications registered to use QSPP as their OAuth and OpenID Connect provider, under
/// `/v1/admin/oauth-clients`. Admins only; registering, rotating a secret and deleting need a sign-in
/// within five minutes or `currentPassword`, and are audited. A secret is in the answer that makes it,
/// and never again.
struct OAuthClientController {
    let services: QSPPServices
    var identity: IdentityService { services.identity }

    var endpoints: RouteCollection<AppRequestContext> {
        let routes = RouteCollection(context: AppRequestContext.self)
        routes.get("/v1/admin/oauth-clients", use: list)
        routes.post("/v1/admin/oauth-clients", use: register)
        routes.get("/v1/admin/oauth-clients/:clientId", use: show)
        routes.post("/v1/admin/oauth-clients/:clientId/secret", use: rotateSecret)
        routes.delete("/v1/admin/oauth-clients/:clientId", use: delete)
        routes.post("/v1/admin/oauth-registration-tokens", use: issueRegistrationToken)
        return routes
    }

    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> OAuthClientList {
        let admin = try context.requireAdmin()
        return OAuthClientList(clients: try await identity.oauthClients(by: admin).map(OAuthClientOutput.init))
    }

    @Sendable func register(_ request: Request, context: AppRequestContext) async throws -> Response {
        let admin = try context.requireAdmin()
        var request = request
        let body = try await request.decodeJSON(OAuthClientInput.self, context: context).value
        let issued = try await identity.registerOAuthClient(
            try body.registration(), by: admin, password: body.currentPassword, client: context.client(request))
        var response = try IssuedClientOutput(issued).response(from: request, context: context)
        response.status = .created
        response.headers[.location] = "/v1/admin/oauth-clients/\(issued.client.id)"
        return response.noStore
    }

    @Sendable func show(_ request: Request, context: AppRequestContext) async throws -> OAuthClientOutput {
        let admin = try context.requireAdmin()
        return OAuthClientOutput(try await identity.oauthClient(id: try clientID(context), by: admin))
    }

    @Sendable func rotateSecret(_ request: Request, context: AppRequestContext) async throws -> Response {
        let admin = try context.requireAdmin()
        let id = try clientID(context)
        var request = request
        let body = try await request.decodeOptionalJSON(MeController.StepUpInput.self, context: context)
        let issued = try await identity.rotateOAuthClientSecret(
            id: id, by: admin, password: body?.currentPassword, client: context.client(request))
        return try IssuedClientOutput(issued).response(from: request, context: context).noStore
    }

    @Sendable func delete(_ request: Request, context: AppRequestContext) async throws -> Response {
        let admin = try context.requireAdmin()
        let id = try clientID(context)
        var request = request
        let body = try await request.decodeOptionalJSON(MeController.StepUpInput.self, context: context)
        try await identity.deleteOAuthClient(
            id: id, by: admin, password: body?.currentPassword, client: context.client(request))
        return Response(status: .noContent)
    }

    /// Ids are base64url of 128 bits; anything else names no client.
    private func clientID(_ context: AppRequestContext) throws -> String {
        guard let id = context.parameters.get("clientId"), id.utf8.count <= 64, Base64URL.decode(id) != nil else {
            throw IdentityError.oauthClientNotFound
        }
        return id
    }

    /// An initial access token for dynamic client registration (RFC 7591 §3), shown once.
    @Sendable func issueRegistrationToken(_ request: Request, context: AppRequestContext) async throws -> Response {
        let admin = try context.requireAdmin()
        var request = request
        let body = try await request.decodeJSON(RegistrationTokenInput.self, context: context).value
        let issued = try await identity.issueRegistrationToken(
            scopes: try OAuthClientInput.set(OAuthClient.Scope.self, body.scopes, "scopes"),
            lifetime: TimeInterval(body.expiresInMinutes ?? 24 * 60) * 60, by: admin, password: body.currentPassword,
            client: context.client(request))
        var response = try RegistrationTokenOutput(
            token: issued.token, expiresAt: RFC3339.string(from: issued.expiresAt),
            scopes: issued.scopes.sorted().map(\.rawValue)
        ).response(from: request, context: context)
        response.status = .created
        return response.noStore
    }
}

struct RegistrationTokenInput: Decodable {
    var scopes: [String]
    var expiresInMinutes: Int?
    var currentPassword: String?

    enum CodingKeys: String, CodingKey { case scopes, expiresInMinutes, currentPassword }

    init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let container = try decoder.container(keyedBy: CodingKeys.self)
        scopes = try container.decode([String].self, forKey: .scopes)
        expiresInMinutes = try container.decodeIfPresent(Int.self, forKey: .expiresInMinutes)
        currentPassword = try container.decodeIfPresent(String.self, forKey: .currentPassword)
    }
}

struct RegistrationTokenOutput: ResponseCodable {
    var token: String
    var expiresAt: String
    var scopes: [String]
}
