import Foundation
import PQCrypto

/// RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0): which client asks, and where the
/// browser may go afterwards. Ending the portal session ends the application sessions started from it
/// (the store revokes them with it).
extension IdentityService {
    public struct LogoutRequest: Sendable {
        public let client: OAuthClient?
        /// Registered for the client, character for character; nil sends the person to the portal.
        public let redirectURI: String?
        public let state: String?
    }

    /// Checks a logout request. An `id_token_hint` must be an ID token QSPP issued (expired ones too);
    /// a `post_logout_redirect_uri` must be registered by the client the hint or `client_id` names.
    public func logoutRequest(
        idTokenHint: String?, clientID: String?, postLogoutRedirectURI: String?, state: String?
    ) async throws -> LogoutRequest {
        var audience: String?
        if let idTokenHint, !idTokenHint.isEmpty {
            let jwks = try JSONSerialization.data(withJSONObject: ["keys": tokens.jwks])
            guard let verified = try? OfflineJWSVerifier(jwks: jwks).verify(idTokenHint, type: "JWT"),
                let claims = try? JSONSerialization.jsonObject(with: verified.payload) as? [String: Any],
                claims["iss"] as? String == tokens.issuer
            else { throw OAuthError.invalidRequest("id_token_hint is not an ID token QSPP issued") }
            audience = (claims["aud"] as? String) ?? (claims["aud"] as? [String])?.first
        }
        if let clientID, let audience, clientID != audience {
            throw OAuthError.invalidRequest("client_id is not the audience of id_token_hint")
        }
        let client = try await authorizationClient(id: clientID ?? audience)
        if let postLogoutRedirectURI {
            guard let client, client.postLogoutRedirectURIs.contains(postLogoutRedirectURI) else {
                throw OAuthError.invalidRequest("post_logout_redirect_uri is not one the client registered")
            }
        }
        guard (state?.utf8.count ?? 0) <= AuthorizationRequest.maximumStateLength else {
            throw OAuthError.invalidRequest("state is too long")
        }
        return LogoutRequest(client: client, redirectURI: postLogoutRedirectURI, state: state)
    }
}

extension IdentityService {
    /// The logout token for a queued notice and the endpoint it goes to; nil when the client was deleted
    /// or no longer registers a back-channel endpoint, so there is no one to tell.
    public func logoutDelivery(for notice: LogoutNotice) async throws -> (token: String, uri: String)? {
        guard let client = try await repository.oauthClient(id: notice.clientID),
            let uri = client.backChannelLogoutURI
        else { return nil }
        let token = try await tokens.issueLogoutToken(
            clientID: client.id, subject: notice.userID.lowercasedString, sessionID: notice.sessionID,
            algorithm: client.idTokenAlgorithm, now: now())
        return (token, uri)
    }
}
