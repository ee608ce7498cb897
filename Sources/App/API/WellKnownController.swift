import Foundation
import Hummingbird
import Identity
import PQCrypto
import Services

/// The issuer's public metadata: the JWK Set, and the one discovery document served under both OpenID
/// Connect Discovery's and RFC 8414's names. It lists exactly what the endpoints support.
struct WellKnownController {
    let services: QSPPServices

    var endpoints: RouteCollection<AppRequestContext> {
        let routes = RouteCollection(context: AppRequestContext.self)
        routes.get("/.well-known/jwks.json", use: jwks)
        routes.get("/.well-known/openid-configuration", use: discovery)
        routes.get("/.well-known/oauth-authorization-server", use: discovery)
        return routes
    }

    @Sendable func jwks(_ request: Request, context: AppRequestContext) async throws -> Response {
        try json(["keys": services.identity.tokens.jwks], maxAge: 300)
    }

    @Sendable func discovery(_ request: Request, context: AppRequestContext) async throws -> Response {
        try json(
            Self.metadata(
                issuer: services.settings.issuer, algorithm: services.settings.tokens.algorithm.rawValue,
                registration: services.identity.configuration.dynamicClientRegistration),
            maxAge: 3600)
    }

    static func metadata(issuer: String, algorithm: String, registration: Bool) -> [String: any Sendable] {
        let clientMethods = OAuthClient.Authentication.allCases.map(\.rawValue)
        let authenticatedMethods = clientMethods.filter { $0 != OAuthClient.Authentication.none.rawValue }
        var metadata: [String: any Sendable] = [
            "issuer": issuer,
            "authorization_endpoint": issuer + "/authorize",
            "token_endpoint": issuer + "/token",
            "userinfo_endpoint": issuer + "/userinfo",
            "revocation_endpoint": issuer + "/revoke",
            "introspection_endpoint": issuer + "/introspect",
            "pushed_authorization_request_endpoint": issuer + "/par",
            "end_session_endpoint": issuer + "/end-session",
            "backchannel_logout_supported": true,
            "backchannel_logout_session_supported": true,
            "require_pushed_authorization_requests": false,
            "jwks_uri": issuer + "/.well-known/jwks.json",
            "response_types_supported": ["code"],
            "response_modes_supported": ["query", "form_post"],
            "grant_types_supported": OAuthClient.GrantType.allCases.map(\.rawValue),
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": clientMethods,
            // A public client revokes its own tokens with its client_id alone (RFC 7009 §5).
            "revocation_endpoint_auth_methods_supported": clientMethods,
            "introspection_endpoint_auth_methods_supported": authenticatedMethods,
            "token_endpoint_auth_signing_alg_values_supported": SigningAlgorithm.allCases.map(\.rawValue),
            "revocation_endpoint_auth_signing_alg_values_supported": SigningAlgorithm.allCases.map(\.rawValue),
            "introspection_endpoint_auth_signing_alg_values_supported": SigningAlgorithm.allCases.map(\.rawValue),
            "scopes_supported": OAuthClient.Scope.allCases.map(\.rawValue),
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": [algorithm]
                + SigningAlgorithm.allCases.map(\.rawValue).filter { $0 != algorithm },
            "userinfo_signing_alg_values_supported": [String](),
            "access_token_signing_alg_values_supported": [algorithm],
            "claims_supported": [
                "iss", "sub", "aud", "azp", "exp", "iat", "auth_time", "nonce", "amr", "sid", "email", "email_verified",
                "name",
            ],
            "prompt_values_supported": ["none", "login", "consent"],
            "dpop_signing_alg_values_supported": DPoPProof.algorithms,
            "authorization_response_iss_parameter_supported": true,
            "request_parameter_supported": false,
            // Request objects by reference are not fetched; a request_uri is only ever a pushed request's.
            "request_uri_parameter_supported": false,
            "claims_parameter_supported": false,
        ]
        if registration { metadata["registration_endpoint"] = issuer + "/oauth/register" }
        return metadata
    }

    private func json(_ object: [String: any Sendable], maxAge: Int) throws -> Response {
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        headers[.cacheControl] = "public, max-age=\(maxAge)"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
