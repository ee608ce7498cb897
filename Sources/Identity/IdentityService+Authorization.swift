import Foundation
import Kernel

/// The authorization endpoint's decisions (RFC 6749 §4.1, OIDC Core §3.1.2): sign the person in, ask
/// for their consent, or answer the client with a code or an error. The HTTP side only renders them.
extension IdentityService {
    public enum AuthorizationStep: Sendable {
        /// The person must sign in first; `again` when they are signed in, but not recently enough.
        case signIn(again: Bool)
        /// The consent screen: the client and the scopes it asks for.
        case consent(OAuthClient, AuthorizationRequest)
        /// Send the browser back to the client with these parameters.
        case answer(AuthorizationAnswer)
    }

    /// What goes back to the client's redirect URI, always with `iss` (RFC 9207) and the `state` it sent.
    public struct AuthorizationAnswer: Sendable, Equatable {
        public let reply: AuthorizationRequest.Reply
        public let parameters: [(name: String, value: String)]

        public static func == (lhs: Self, rhs: Self) -> Bool {
            lhs.reply == rhs.reply && lhs.parameters.map(\.name) == rhs.parameters.map(\.name)
                && lhs.parameters.map(\.value) == rhs.parameters.map(\.value)
        }
    }

    /// The client an authorization request names, if it is registered.
    public func authorizationClient(id: String?) async throws -> OAuthClient? {
        guard let id, !id.isEmpty, id.utf8.count <= 64 else { return nil }
        return try await repository.oauthClient(id: id)
    }

    /// The request the authorization endpoint received, checked against its client: its own parameters,
    /// or those a client pushed before (RFC 9126 §4), named by `request_uri`. Throws
    /// ``AuthorizationFailure``.
    public func authorizationRequest(
        _ parameters: [(name: String, value: String)]
    ) async throws -> (AuthorizationRequest, OAuthClient) {
        let client = try await authorizationClient(id: parameters.first { $0.name == "client_id" }?.value)
        guard let requestURI = parameters.first(where: { $0.name == "request_uri" })?.value else {
            let request = try AuthorizationRequest.checked(parameters, client: client)
            guard let client else { throw AuthorizationFailure.unredirectable("no client") }
            return (request, client)
        }
        guard let client, requestURI.hasPrefix(PushedRequest.uriPrefix),
            let pushed = try await repository.pushedRequest(
                digest: OpaqueSecret.digest(String(requestURI.dropFirst(PushedRequest.uriPrefix.count)))),
            pushed.clientID == client.id, pushed.expiresAt > now(),
            let stored = try? JSONDecoder().decode([[String]].self, from: Data(pushed.parameters.utf8))
        else {
            throw AuthorizationFailure.unredirectable(
                "The sign-in request has expired or is not valid. Go back to the application and start again.")
        }
        var request = try AuthorizationRequest.checked(
            stored.compactMap { $0.count == 2 ? ($0[0], $0[1]) : nil }, client: client, pushed: true)
        request.pushedRequestDigest = pushed.digest
        return (request, client)
    }

    /// Stores a pushed authorization request (RFC 9126 §2.1) once it passes every check the authorization
    /// endpoint would make, and returns the `request_uri` that names it.
    public func pushAuthorizationRequest(
        _ parameters: [(name: String, value: String)], client: OAuthClient
    ) async throws -> (requestURI: String, expiresIn: Int) {
        if let named = parameters.first(where: { $0.name == "client_id" }), named.value != client.id {
            throw OAuthError.invalidRequest("client_id is not the client that authenticated")
        }
        let complete =
            parameters.contains { $0.name == "client_id" } ? parameters : parameters + [("client_id", client.id)]
        do {
            _ = try AuthorizationRequest.checked(complete, client: client, pushed: true)
        } catch .unredirectable(let reason) {
            throw OAuthError.invalidRequest(reason)
        } catch .redirect(let error, _) {
            throw error
        }
        let token = OpaqueSecret.generateToken()
        let encoded = String(decoding: try JSONEncoder().encode(complete.map { [$0.name, $0.value] }), as: UTF8.self)
        try await repository.insertPushedRequest(
            PushedRequest(
                digest: OpaqueSecret.digest(token), clientID: client.id, parameters: encoded,
                expiresAt: now().addingTimeInterval(PushedRequest.lifetime)))
        return (PushedRequest.uriPrefix + token, Int(PushedRequest.lifetime))
    }

    /// The next step for `request` from the person signed in to the portal as `user` (nil when no one
    /// is). `decision` is the consent screen's answer, when there was one.
    public func authorize(
        _ request: AuthorizationRequest, client: OAuthClient, user: AuthenticatedUser?, decision: Bool? = nil,
        from info: ClientInfo
    ) async throws -> AuthorizationStep {
        let now = now()
        guard let user, user.delegation == nil,
            let session = try await repository.session(id: user.sessionID), session.revokedAt == nil
        else {
            return request.silent
                ? try await answer(error(.init(.loginRequired, "the person is not signed in"), request), request)
                : .signIn(again: false)
        }
        if needsFreshSignIn(request, session: session, now: now) {
            return request.silent
                ? try await answer(
                    error(.init(.loginRequired, "the sign-in is older than the client allows"), request), request)
                : .signIn(again: true)
        }
        switch decision {
        case false?:
            return try await answer(error(.init(.accessDenied, "the person declined"), request), request)
        case true?:
            let previous = try await repository.oauthGrant(userID: user.userID, clientID: client.id)
            let grant = OAuthGrant(
                userID: user.userID, clientID: client.id, scopes: request.scopes.union(previous?.scopes ?? []),
                grantedAt: now)
            let event = AuthEvent(
                kind: .oauthGranted, at: now, userID: user.userID, sessionID: user.sessionID, client: info,
                details: ["client_id": client.id, "scope": OAuthClient.Scope.text(grant.scopes)])
            try await repository.saveOAuthGrant(grant, recording: event)
            observe(.oauthGranted)
        case nil:
            let granted = try await repository.oauthGrant(userID: user.userID, clientID: client.id)
            guard let granted, request.scopes.isSubset(of: granted.scopes), !request.forcesConsent else {
                return request.silent
                    ? try await answer(
                        error(.init(.consentRequired, "the person has not granted these scopes"), request), request)
                    : .consent(client, request)
            }
        }
        let code = OpaqueSecret.generateToken()
        try await repository.insertAuthorizationCode(
            AuthorizationCode(
                digest: OpaqueSecret.digest(code), clientID: client.id, userID: user.userID,
                redirectURI: request.redirectURI, scopes: request.scopes, nonce: request.nonce,
                codeChallenge: request.codeChallenge, authenticatedAt: session.createdAt,
                authenticationMethods: session.authenticationMethods,
                expiresAt: now.addingTimeInterval(AuthorizationCode.lifetime), webSessionID: session.id))
        // A pushed request answers once: whoever spends it first gets the code.
        if let digest = request.pushedRequestDigest, try await !repository.deletePushedRequest(digest: digest) {
            return .answer(error(.invalidRequest("the pushed request was used already"), request))
        }
        var parameters = [(name: "code", value: code)]
        if let state = request.state { parameters.append(("state", state)) }
        parameters.append(("iss", tokens.issuer))
        return .answer(AuthorizationAnswer(reply: request.reply, parameters: parameters))
    }

    /// An error answer, which spends the pushed request it answers.
    private func answer(
        _ answer: AuthorizationAnswer, _ request: AuthorizationRequest
    ) async throws -> AuthorizationStep {
        if let digest = request.pushedRequestDigest { _ = try await repository.deletePushedRequest(digest: digest) }
        return .answer(answer)
    }

    /// An error answer for a request whose client and redirect URI are known.
    public func error(_ error: OAuthError, _ request: AuthorizationRequest) -> AuthorizationAnswer {
        error.answer(to: request.reply, issuer: tokens.issuer)
    }

    /// `prompt=login` asks for a sign-in just now; `max_age` for one within its seconds.
    private func needsFreshSignIn(_ request: AuthorizationRequest, session: Session, now: Date) -> Bool {
        let age = now.timeIntervalSince(session.createdAt)
        // "Just now" allows the few seconds from the sign-in page back to this request.
        let justNow: TimeInterval = 30
        if request.forcesLogin, age > justNow { return true }
        if let maximum = request.maximumAuthenticationAge, age > max(TimeInterval(maximum), justNow) { return true }
        return false
    }

    // MARK: Connected applications

    /// The applications the person let in, with what each may do.
    public func connectedApplications(of user: AuthenticatedUser) async throws -> [(OAuthGrant, OAuthClient)] {
        var connected: [(OAuthGrant, OAuthClient)] = []
        for grant in try await repository.oauthGrants(userID: user.userID) {
            if let client = try await repository.oauthClient(id: grant.clientID) { connected.append((grant, client)) }
        }
        return connected
    }

    /// Withdraws the person's grant to an application and ends every session it holds for them, so its
    /// refresh tokens stop working at once and its access tokens at their next check.
    public func disconnectApplication(
        _ clientID: String, user: AuthenticatedUser, client info: ClientInfo
    )
        async throws
    {
        guard user.delegation == nil else { throw IdentityError.forbidden }
        let event = AuthEvent(
            kind: .oauthDisconnected, at: now(), userID: user.userID, sessionID: user.sessionID, client: info,
            details: ["client_id": clientID])
        guard
            let revoked = try await repository.deleteOAuthGrant(
                userID: user.userID, clientID: clientID, at: now(), recording: event)
        else { throw IdentityError.oauthClientNotFound }
        revoked.forEach(sessionCache.markRevoked)
        observe(.oauthDisconnected)
    }
}

extension OAuthError {
    /// This error as an authorization response (RFC 6749 §4.1.2.1, RFC 9207).
    public func answer(to reply: AuthorizationRequest.Reply, issuer: String) -> IdentityService.AuthorizationAnswer {
        var parameters = [(name: "error", value: code.rawValue), ("error_description", detail)]
        if let state = reply.state { parameters.append(("state", state)) }
        parameters.append(("iss", issuer))
        return IdentityService.AuthorizationAnswer(reply: reply, parameters: parameters)
    }
}
