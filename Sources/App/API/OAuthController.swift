import Foundation
import HTTPTypes
import Hummingbird
import Identity
import Services

/// The OAuth 2.1 and OpenID Connect endpoints a client calls from its server: token, revocation,
/// introspection and UserInfo. Their errors are the JSON of RFC 6749 §5.2 (`error`,
/// `error_description`), which every OAuth library reads, with the members of a problem document too.
struct OAuthController {
    let services: QSPPServices
    var identity: IdentityService { services.identity }

    var endpoints: RouteCollection<AppRequestContext> {
        let routes = RouteCollection(context: AppRequestContext.self)
        routes.post("/token", use: token)
        routes.post("/par", use: pushAuthorizationRequest)
        routes.post("/revoke", use: revoke)
        routes.post("/introspect", use: introspect)
        routes.get("/userinfo", use: userInfo)
        routes.post("/userinfo", use: userInfo)
        routes.post("/oauth/register", use: registerClient)
        return routes
    }

    @Sendable func token(_ request: Request, context: AppRequestContext) async throws -> Response {
        var response = try await answering { () async throws -> Response in
            var request = request
            let form = try await Self.oauthForm(&request, context)
            let client = try await identity.authenticateClient(try Self.presentedClient(request, form))
            let info = context.client(request)
            let key = try await dpopKey(request)
            let issued: IdentityService.IssuedTokens
            switch form["grant_type"] {
            case "authorization_code":
                issued = try await identity.exchangeCode(
                    try Self.required("code", form), redirectURI: form["redirect_uri"], verifier: form["code_verifier"],
                    client: client, boundTo: key, from: info)
            case "refresh_token":
                issued = try await identity.refreshForClient(
                    try Self.required("refresh_token", form), scope: form["scope"], client: client, boundTo: key,
                    from: info)
            case "client_credentials":
                issued = try await identity.clientCredentials(scope: form["scope"], client: client, boundTo: key)
            case OAuthClient.GrantType.tokenExchange.rawValue:
                issued = try await identity.exchangeToken(
                    subjectToken: form["subject_token"], subjectTokenType: form["subject_token_type"],
                    actorToken: form["actor_token"], scope: form["scope"], client: client, boundTo: key)
            case nil:
                throw OAuthError(.invalidRequest, "grant_type is required")
            default:
                throw OAuthError(
                    .unsupportedGrantType,
                    "QSPP supports authorization_code, refresh_token, client_credentials and token exchange")
            }
            var body: [String: any Sendable] = [
                "access_token": issued.accessToken, "token_type": issued.tokenType, "expires_in": issued.expiresIn,
                "scope": OAuthClient.Scope.text(issued.scopes),
            ]
            if let refresh = issued.refreshToken { body["refresh_token"] = refresh }
            if let idToken = issued.idToken { body["id_token"] = idToken }
            if let type = issued.issuedTokenType { body["issued_token_type"] = type }
            return try Self.json(body)
        }
        // Every answer to a request with a proof names the nonce the next proof must carry.
        if request.headers[.dpop] != nil { response.headers[.dpopNonce] = identity.dpopNonce() }
        return response
    }

    /// RFC 9126: the client pushes its authorization request and gets a `request_uri` for it.
    @Sendable func pushAuthorizationRequest(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await answering { () async throws -> Response in
            var request = request
            let form = try await Self.oauthForm(&request, context)
            let client = try await identity.authenticateClient(try Self.presentedClient(request, form))
            let credentials: Set<String> = ["client_secret"]
            let pushed = try await identity.pushAuthorizationRequest(
                form.pairs.filter { !credentials.contains($0.name) }, client: client)
            var response = try Self.json(["request_uri": pushed.requestURI, "expires_in": pushed.expiresIn])
            response.status = .created
            return response
        }
    }

    @Sendable func revoke(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await answering { () async throws -> Response in
            var request = request
            let form = try await Self.oauthForm(&request, context)
            let client = try await identity.authenticateClient(try Self.presentedClient(request, form))
            try await identity.revoke(try Self.required("token", form), client: client, from: context.client(request))
            return Response(status: .ok, headers: [.cacheControl: "no-store"])
        }
    }

    @Sendable func introspect(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await answering { () async throws -> Response in
            var request = request
            let form = try await Self.oauthForm(&request, context)
            let presented = try Self.presentedClient(request, form)
            // Only a client that can prove who it is may ask (RFC 7662 §2.1).
            guard presented.method != .none else { throw OAuthError.invalidClient }
            let client = try await identity.authenticateClient(presented)
            let answer = try await identity.introspect(try Self.required("token", form), client: client)
            return try Self.json(answer.isEmpty ? ["active": false] : answer.mapValues(Self.value))
        }
    }

    @Sendable func userInfo(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await answering { () async throws -> Response in
            guard let user = context.principal else {
                throw OAuthError(.invalidToken, "send the access token as 'Authorization: Bearer <token>'")
            }
            return try Self.json(try await identity.userInfo(for: user).mapValues(Self.value))
        }
    }

    /// The key of the request's DPoP proof, checked for the token endpoint with our nonce; nil without
    /// a proof.
    private func dpopKey(_ request: Request) async throws -> String? {
        let proofs = request.headers[values: .dpop]
        guard !proofs.isEmpty else { return nil }
        guard proofs.count == 1 else { throw OAuthError(.invalidDPoPProof, "send one DPoP proof") }
        return try await identity.checkDPoP(
            proofs[0], method: "POST", url: identity.tokens.url(of: "/token"), accessToken: nil,
            requiringNonce: true)
    }

    // MARK: Reading requests

    /// The form body; a repeated parameter is refused (RFC 6749 §3.2).
    static func oauthForm(_ request: inout Request, _ context: AppRequestContext) async throws -> FormFields {
        let form: FormFields
        do {
            form = try await request.form(context: context)
        } catch let problem as Problem where problem.status == .unsupportedMediaType {
            throw OAuthError(.invalidRequest, "send the parameters as application/x-www-form-urlencoded")
        }
        if form.repeatedName != nil { throw OAuthError(.invalidRequest, "a parameter is repeated") }
        return form
    }

    /// How the client authenticated: HTTP Basic, the form's `client_id` and `client_secret`, or a signed
    /// assertion (RFC 7523), only ever one of them (RFC 6749 §2.3).
    static func presentedClient(_ request: Request, _ form: FormFields) throws -> IdentityService.PresentedClient {
        if let type = form["client_assertion_type"] {
            guard type == IdentityService.clientAssertionType else {
                throw OAuthError(
                    .invalidRequest, "client_assertion_type must be \(IdentityService.clientAssertionType)")
            }
            guard let assertion = form["client_assertion"], !assertion.isEmpty else {
                throw OAuthError(.invalidRequest, "client_assertion is required with client_assertion_type")
            }
            guard request.headers[.authorization] == nil, form["client_secret"] == nil else {
                throw OAuthError(.invalidRequest, "authenticate the client one way only")
            }
            let claimed = IdentityService.claimedClient(ofAssertion: assertion)
            guard form["client_id"] == nil || form["client_id"] == claimed else { throw OAuthError.invalidClient }
            return .init(id: claimed, secret: nil, method: .privateKeyJWT, assertion: assertion)
        }
        if form["client_assertion"] != nil {
            throw OAuthError(.invalidRequest, "client_assertion needs client_assertion_type")
        }
        if let authorization = request.headers[.authorization] {
            guard authorization.utf8.count > 6, authorization.prefix(6).lowercased() == "basic ",
                let decoded = Data(base64Encoded: String(authorization.dropFirst(6))).map({
                    String(decoding: $0, as: UTF8.self)
                }),
                let colon = decoded.firstIndex(of: ":"),
                let id = Self.formDecoded(decoded[..<colon]),
                let secret = Self.formDecoded(decoded[decoded.index(after: colon)...])
            else { throw BasicFailure() }
            guard form["client_secret"] == nil, form["client_id"] == nil || form["client_id"] == id else {
                throw OAuthError(.invalidRequest, "authenticate the client one way only")
            }
            return .init(id: id, secret: secret, method: .clientSecretBasic)
        }
        if let secret = form["client_secret"] {
            return .init(id: form["client_id"], secret: secret, method: .clientSecretPost)
        }
        return .init(id: form["client_id"], secret: nil, method: .none)
    }

    /// RFC 6749 §2.3.1: the id and secret are form-urlencoded before they are joined and encoded.
    private static func formDecoded(_ text: Substring) -> String? {
        text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding
    }

    static func required(_ name: String, _ form: FormFields) throws(OAuthError) -> String {
        guard let value = form[name], !value.isEmpty else { throw OAuthError(.invalidRequest, "\(name) is required") }
        return value
    }

    // MARK: Answers

    /// A malformed Basic header: `invalid_client`, with the Basic challenge every such answer carries.
    struct BasicFailure: Error {}

    func answering(_ body: () async throws -> Response) async throws -> Response {
        do {
            return try await body()
        } catch let error as OAuthError {
            return try Self.error(error)
        } catch is BasicFailure {
            return try Self.error(.invalidClient)
        } catch let error as IdentityError where error.kind == .invalidToken {
            return try Self.error(.init(.invalidToken, error.description))
        }
    }

    static func error(_ error: OAuthError) throws -> Response {
        let status: HTTPResponse.Status =
            switch error.code {
            case .invalidClient, .invalidToken: .unauthorized
            case .insufficientScope: .forbidden
            default: .badRequest
            }
        var response = try json([
            "error": error.code.rawValue, "error_description": error.detail,
            "type": "urn:qspp:problem:oauth-" + error.code.rawValue.replacingOccurrences(of: "_", with: "-"),
            "title": "OAuth error: " + error.code.rawValue, "status": Int(status.code), "detail": error.detail,
        ])
        response.status = status
        switch error.code {
        case .invalidClient:
            response.headers[.wwwAuthenticate] = "Basic realm=\"qspp\""
        case .invalidToken, .insufficientScope:
            response.headers[.wwwAuthenticate] = "Bearer error=\"\(error.code.rawValue)\""
        default:
            break
        }
        return response
    }

    static func json(_ object: [String: any Sendable]) throws -> Response {
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        return Response(
            status: .ok, headers: [.contentType: "application/json", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    private static func value(_ value: IdentityService.IntrospectionValue) -> any Sendable {
        switch value {
        case .bool(let flag): flag
        case .text(let text): text
        case .number(let number): number
        case .object(let members): members
        }
    }
}
