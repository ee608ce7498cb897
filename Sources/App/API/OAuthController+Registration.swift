import Foundation
import HTTPTypes
import Hummingbird
import Identity
import PQCrypto
import Services

/// `POST /oauth/register`, dynamic client registration (RFC 7591): client metadata in, the registered client
/// (with its secret, shown once) out. Answers 404 while an operator has not turned it on.
extension OAuthController {
    @Sendable func registerClient(_ request: Request, context: AppRequestContext) async throws -> Response {
        guard identity.configuration.dynamicClientRegistration else {
            throw Problem(.notFound, "not-found", "Not found", detail: "dynamic client registration is off")
        }
        var request = request
        let metadata = try await request.decodeJSON(ClientMetadata.self, context: context).value
        var response = try await answering { () async throws -> Response in
            let token = TokenAuthMiddleware.presentedToken(request.headers[.authorization]).flatMap {
                $0.dpop ? nil : $0.token
            }
            // Who asks comes before what they ask for.
            guard let token else { throw OAuthError(.invalidToken, "registration needs an initial access token") }
            let issued = try await identity.registerDynamically(
                try metadata.registration(), initialAccessToken: token, client: context.client(request))
            return try Self.json(ClientMetadata.answer(issued))
        }
        if response.status == .ok { response.status = .created }
        return response
    }
}

/// Client metadata as RFC 7591 §2 (with OIDC Registration and Back-Channel Logout) names it. Metadata
/// QSPP does not use is ignored, as §2 requires; metadata it uses but cannot honour is refused.
struct ClientMetadata: Decodable {
    var clientName: String?
    var redirectURIs: [String]?
    var tokenEndpointAuthMethod: String?
    var grantTypes: [String]?
    var responseTypes: [String]?
    var scope: String?
    var jwks: OAuthClientInput.KeySet?
    var jwksURI: String?
    var backchannelLogoutURI: String?
    var postLogoutRedirectURIs: [String]?
    var idTokenSignedResponseAlg: String?
    var requirePushedAuthorizationRequests: Bool?

    enum CodingKeys: String, CodingKey {
        case clientName = "client_name"
        case redirectURIs = "redirect_uris"
        case tokenEndpointAuthMethod = "token_endpoint_auth_method"
        case grantTypes = "grant_types"
        case responseTypes = "response_types"
        case scope, jwks
        case jwksURI = "jwks_uri"
        case backchannelLogoutURI = "backchannel_logout_uri"
        case postLogoutRedirectURIs = "post_logout_redirect_uris"
        case idTokenSignedResponseAlg = "id_token_signed_response_alg"
        case requirePushedAuthorizationRequests = "require_pushed_authorization_requests"
    }

    func registration() throws(OAuthError) -> OAuthClientRegistration {
        func refuse(_ why: String) -> OAuthError { OAuthError(.invalidClientMetadata, why) }
        guard jwksURI == nil else { throw refuse("jwks_uri: QSPP does not fetch keys; send them as jwks") }
        // RFC 7591 §2: the defaults when a client names none.
        let method = tokenEndpointAuthMethod ?? OAuthClient.Authentication.clientSecretBasic.rawValue
        guard let authentication = OAuthClient.Authentication(rawValue: method) else {
            throw refuse("token_endpoint_auth_method: QSPP does not support \(method)")
        }
        var grants: Set<OAuthClient.GrantType> = []
        for name in grantTypes ?? [OAuthClient.GrantType.authorizationCode.rawValue] {
            guard let grant = OAuthClient.GrantType(rawValue: name) else {
                throw refuse("grant_types: QSPP does not support \(name)")
            }
            grants.insert(grant)
        }
        let responses = responseTypes ?? (grants.contains(.authorizationCode) ? ["code"] : [])
        guard responses == (grants.contains(.authorizationCode) ? ["code"] : []) else {
            throw refuse("response_types: only code, and only with authorization_code")
        }
        var scopes: Set<OAuthClient.Scope> = []
        for word in (scope ?? "openid").split(separator: " ") {
            guard let scope = OAuthClient.Scope(rawValue: String(word)) else {
                throw refuse("scope: \(word) is not a scope QSPP knows")
            }
            scopes.insert(scope)
        }
        var algorithm = SigningAlgorithm.mldsa65
        if let name = idTokenSignedResponseAlg {
            guard let named = SigningAlgorithm(rawValue: name) else {
                throw refuse(
                    "id_token_signed_response_alg: QSPP signs with \(SigningAlgorithm.allCases.map(\.rawValue))")
            }
            algorithm = named
        }
        return OAuthClientRegistration(
            name: clientName ?? "Unnamed application", kind: authentication == .none ? .public : .confidential,
            authentication: authentication, redirectURIs: redirectURIs ?? [], grantTypes: grants, scopes: scopes,
            backChannelLogoutURI: backchannelLogoutURI, postLogoutRedirectURIs: postLogoutRedirectURIs ?? [],
            requiresPushedRequests: requirePushedAuthorizationRequests ?? false, idTokenAlgorithm: algorithm,
            keys: jwks?.keys ?? [])
    }

    /// RFC 7591 §3.2.1: the client's id, its secret if it has one, and the metadata as registered.
    static func answer(_ issued: IdentityService.IssuedClient) -> [String: any Sendable] {
        let client = issued.client
        var body: [String: any Sendable] = [
            "client_id": client.id, "client_id_issued_at": Int(client.createdAt.timeIntervalSince1970),
            "client_name": client.name, "token_endpoint_auth_method": client.authentication.rawValue,
            "grant_types": client.grantTypes.sorted().map(\.rawValue), "scope": OAuthClient.Scope.text(client.scopes),
            "redirect_uris": client.redirectURIs,
            "response_types": client.grantTypes.contains(.authorizationCode) ? ["code"] : [String](),
            "id_token_signed_response_alg": client.idTokenAlgorithm.rawValue,
            "require_pushed_authorization_requests": client.requiresPushedRequests,
        ]
        if let secret = issued.secret {
            body["client_secret"] = secret
            body["client_secret_expires_at"] = 0
        }
        if !client.keys.isEmpty { body["jwks"] = ["keys": client.keys] }
        if let uri = client.backChannelLogoutURI { body["backchannel_logout_uri"] = uri }
        if !client.postLogoutRedirectURIs.isEmpty { body["post_logout_redirect_uris"] = client.postLogoutRedirectURIs }
        return body
    }
}
