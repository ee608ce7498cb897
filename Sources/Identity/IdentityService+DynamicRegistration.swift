import Crypto
import Foundation
import Kernel
import PQCrypto

/// Dynamic client registration (RFC 7591), off unless an operator turns it on. A client registers
/// itself with an initial access token that an administrator issued: the token names the widest scopes
/// the client may ask for, expires, registers one client only, and only one that signs people in
/// (authorization_code and refresh_token). The registration is recorded in the
/// issuing administrator's name, with the token's id.
extension IdentityService {
    /// The longest an initial access token may live.
    public static let maximumRegistrationTokenLifetime: TimeInterval = 30 * 24 * 3600

    public struct RegistrationToken: Sendable {
        public let token: String
        public let expiresAt: Date
        public let scopes: Set<OAuthClient.Scope>
    }

    public func issueRegistrationToken(
        scopes: Set<OAuthClient.Scope>, lifetime: TimeInterval, by admin: AuthenticatedUser, password: String?,
        client: ClientInfo
    ) async throws -> RegistrationToken {
        guard configuration.dynamicClientRegistration else {
            throw IdentityError.invalidField("registration", "dynamic client registration is off")
        }
        try await requireAdministrator(admin, password: password, client: client)
        guard !scopes.isEmpty else { throw IdentityError.invalidField("scopes", "must name at least one scope") }
        guard lifetime >= 60, lifetime <= Self.maximumRegistrationTokenLifetime else {
            throw IdentityError.invalidField("expiresInMinutes", "must be from 1 minute to 30 days")
        }
        let now = now()
        let id = UUID()
        let expiresAt = now.addingTimeInterval(lifetime)
        let token = try await tokens.issueRegistrationToken(
            admin: admin.userID, scopes: scopes, id: id, now: now, expiresAt: expiresAt)
        try await repository.appendAuthEvent(
            AuthEvent(
                kind: .oauthRegistrationTokenIssued, at: now, userID: admin.userID, sessionID: admin.sessionID,
                client: client,
                details: [
                    "token_id": id.lowercasedString, "scopes": OAuthClient.Scope.text(scopes),
                    "expires_at": RFC3339.string(from: expiresAt),
                ]))
        return RegistrationToken(token: token, expiresAt: expiresAt, scopes: scopes)
    }

    /// Registers a client that presented `initialAccessToken`. Throws ``OAuthError`` as RFC 7591
    /// §3.2.2 names the failures, and `invalid_token` for a token that is not good for this.
    public func registerDynamically(
        _ registration: OAuthClientRegistration, initialAccessToken: String?, client info: ClientInfo
    ) async throws -> IssuedClient {
        guard let initialAccessToken, !initialAccessToken.isEmpty else {
            throw OAuthError(.invalidToken, "registration needs an initial access token")
        }
        let leave: (admin: UUID, scopes: Set<OAuthClient.Scope>, id: String, expiresAt: Date)
        do {
            leave = try await tokens.verifyRegistrationToken(initialAccessToken)
        } catch {
            throw OAuthError(.invalidToken, "the initial access token is not valid")
        }
        // Still an administrator's leave: a token outlives neither its issuer's account nor their role.
        guard let admin = try await repository.account(id: leave.admin), admin.roles.contains(.admin) else {
            throw OAuthError(.invalidToken, "the initial access token is not valid")
        }
        if let scope = registration.scopes.subtracting(leave.scopes).min() {
            throw OAuthError(
                .invalidClientMetadata, "the initial access token does not allow the scope \(scope.rawValue)")
        }
        // A self-registered client signs people in and acts for them only: a machine client reaches its
        // scopes for every subject, so only an administrator registers one.
        if let grant = registration.grantTypes.subtracting([.authorizationCode, .refreshToken]).min() {
            throw OAuthError(
                .invalidClientMetadata, "grant_types: \(grant.rawValue) is for clients an administrator registers")
        }
        do {
            _ = try registration.checked(privateLogoutEndpoints: configuration.logoutEndpointsMayBePrivate)
        } catch let error as IdentityError {
            throw Self.metadataError(error)
        }
        let key = "registration " + Base64URL.encode(Data(SHA256.hash(data: Data(leave.id.utf8))))
        guard try await repository.spendChallenge(id: key, expiresAt: leave.expiresAt) else {
            throw OAuthError(.invalidToken, "the initial access token was used before")
        }
        return try await insertClient(
            registration, by: leave.admin, in: nil, client: info,
            details: ["registration_token_id": leave.id, "dynamic": "true"])
    }

    /// RFC 7591 §3.2.2: a redirect URI that is refused is `invalid_redirect_uri`; anything else about
    /// the metadata is `invalid_client_metadata`.
    /// The field is named as RFC 7591 names it.
    static func metadataError(_ error: IdentityError) -> OAuthError {
        let names = [
            "name": "client_name", "tokenEndpointAuthMethod": "token_endpoint_auth_method",
            "redirectUris": "redirect_uris", "postLogoutRedirectUris": "post_logout_redirect_uris",
            "grantTypes": "grant_types", "scopes": "scope", "backchannelLogoutUri": "backchannel_logout_uri",
            "requirePushedAuthorizationRequests": "require_pushed_authorization_requests", "jwks": "jwks",
        ]
        let parts = error.description.split(separator: ":", maxSplits: 1)
        guard parts.count == 2, let field = names[String(parts[0])] else {
            return OAuthError(.invalidClientMetadata, error.description)
        }
        let redirect = field == "redirect_uris" || field == "post_logout_redirect_uris"
        return OAuthError(redirect ? .invalidRedirectURI : .invalidClientMetadata, field + ":" + parts[1])
    }
}
