import Crypto
import Foundation
import Kernel
import PQCrypto

/// Registering the applications that use QSPP as their OAuth and OpenID Connect provider. Only
/// administrators do it, with a sign-in within ``IdentityService/stepUpWindow`` or their password: a
/// client may be given the `admin` scope. Every change is an audit event with its ledger entry.
extension IdentityService {
    /// A client just registered, or given a new secret: the secret is shown this once.
    public struct IssuedClient: Sendable, Equatable {
        public let client: OAuthClient
        /// Nil for a public client.
        public let secret: String?
    }

    public func registerOAuthClient(
        _ registration: OAuthClientRegistration, by admin: AuthenticatedUser, password: String?, client: ClientInfo
    ) async throws -> IssuedClient {
        try await requireAdministrator(admin, password: password, client: client)
        return try await insertClient(registration, by: admin.userID, in: admin.sessionID, client: client)
    }

    /// Checks and stores a registration made by (or on the leave of) the administrator `admin`, and
    /// records it with `details`.
    func insertClient(
        _ registration: OAuthClientRegistration, by admin: UUID, in session: UUID?, client: ClientInfo,
        details extra: [String: String] = [:]
    ) async throws -> IssuedClient {
        let authentication = try registration.checked(
            privateLogoutEndpoints: configuration.logoutEndpointsMayBePrivate)
        let secret = authentication.usesSecret ? OpaqueSecret.generateToken() : nil
        let registered = OAuthClient(
            id: Self.newClientID(), name: registration.name.trimmingCharacters(in: .whitespaces),
            kind: registration.kind, authentication: authentication, secretDigest: secret.map(OpaqueSecret.digest),
            redirectURIs: registration.redirectURIs, grantTypes: registration.grantTypes, scopes: registration.scopes,
            backChannelLogoutURI: registration.backChannelLogoutURI,
            postLogoutRedirectURIs: registration.postLogoutRedirectURIs,
            requiresPushedRequests: registration.requiresPushedRequests,
            idTokenAlgorithm: registration.idTokenAlgorithm, keys: registration.keys,
            createdAt: now().roundedToMicroseconds,
            createdBy: admin)
        let details: [String: String] = [
            "client_id": registered.id,
            "kind": registered.kind.rawValue, "authentication": registered.authentication.rawValue,
            "grant_types": registered.grantTypes.sorted().map(\.rawValue).joined(separator: " "),
            "scopes": registered.scopes.sorted().map(\.rawValue).joined(separator: " "),
            "redirect_uris": registered.redirectURIs.joined(separator: " "),
            "backchannel_logout_uri": registered.backChannelLogoutURI ?? "",
            "post_logout_redirect_uris": registered.postLogoutRedirectURIs.joined(separator: " "),
            "key_ids": registered.keys.compactMap { $0["kid"] }.joined(separator: " "),
        ]
        try await repository.insertOAuthClient(
            registered,
            recording: AuthEvent(
                kind: .oauthClientRegistered, at: now(), userID: admin, sessionID: session, client: client,
                details: details.merging(extra) { own, _ in own }))
        // The key its ID tokens will need is made now, so the JWKS every replica serves has it before
        // the first sign-in.
        try await tokens.prepareIDTokenKey(for: registered.idTokenAlgorithm)
        return IssuedClient(client: registered, secret: secret)
    }

    public func oauthClients(by admin: AuthenticatedUser) async throws -> [OAuthClient] {
        guard admin.isAdmin else { throw IdentityError.forbidden }
        return try await repository.oauthClients()
    }

    public func oauthClient(id: String, by admin: AuthenticatedUser) async throws -> OAuthClient {
        guard admin.isAdmin else { throw IdentityError.forbidden }
        guard let found = try await repository.oauthClient(id: id) else { throw IdentityError.oauthClientNotFound }
        return found
    }

    /// A new secret for a confidential client; the old one stops working at once.
    public func rotateOAuthClientSecret(
        id: String, by admin: AuthenticatedUser, password: String?, client: ClientInfo
    ) async throws -> IssuedClient {
        try await requireAdministrator(admin, password: password, client: client)
        guard var found = try await repository.oauthClient(id: id) else { throw IdentityError.oauthClientNotFound }
        guard found.authentication.usesSecret else {
            throw IdentityError.invalidField(
                "tokenEndpointAuthMethod", "only a client that authenticates with a secret has one to rotate")
        }
        let secret = OpaqueSecret.generateToken()
        let digest = OpaqueSecret.digest(secret)
        found.secretDigest = digest
        guard
            try await repository.replaceOAuthClientSecret(
                id: id, digest: digest,
                recording: event(.oauthClientSecretRotated, found, by: admin, client: client))
        else { throw IdentityError.oauthClientNotFound }
        clientCache.forget(id)
        return IssuedClient(client: found, secret: secret)
    }

    public func deleteOAuthClient(
        id: String, by admin: AuthenticatedUser, password: String?, client: ClientInfo
    ) async throws {
        try await requireAdministrator(admin, password: password, client: client)
        guard let found = try await repository.oauthClient(id: id) else { throw IdentityError.oauthClientNotFound }
        guard
            try await repository.deleteOAuthClient(
                id: id, at: now(), recording: event(.oauthClientDeleted, found, by: admin, client: client))
        else { throw IdentityError.oauthClientNotFound }
        clientCache.forget(id)
    }

    /// An administrator who signed in within ``IdentityService/stepUpWindow``, or who gave their password.
    public func requireAdministrator(
        _ admin: AuthenticatedUser, password: String?, client: ClientInfo
    )
        async throws
    {
        guard admin.isAdmin else { throw IdentityError.forbidden }
        try await requireRecentAuthentication(
            admin, account: try await requireAccount(admin.userID), password: password, client: client)
    }

    private func event(
        _ kind: AuthEvent.Kind, _ subject: OAuthClient, by admin: AuthenticatedUser, client: ClientInfo,
        details: [String: String] = [:]
    ) -> AuthEvent {
        AuthEvent(
            kind: kind, at: now(), userID: admin.userID, sessionID: admin.sessionID, client: client,
            details: details.merging(["client_id": subject.id]) { own, _ in own })
    }

    /// 128 random bits, base64url: unguessable, so that knowing one client's id says nothing of another's.
    static func newClientID() -> String {
        Base64URL.encode(SymmetricKey(size: .bits128).withUnsafeBytes { Data($0) })
    }
}
