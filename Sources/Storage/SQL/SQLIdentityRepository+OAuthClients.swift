import Foundation
import Identity
import Kernel
import PQCrypto

/// The registered OAuth clients. Lists are stored as text: redirect URIs and public keys as JSON, since
/// a URI may hold any character a separator could be; grant types and scopes space-separated, as OAuth
/// writes them.
extension SQLIdentityRepository {
    private static let clientColumns = """
        id, name, kind, authentication, secret_digest, redirect_uris, grant_types, scopes, backchannel_logout_uri,
        requires_par, id_token_alg, created_at, created_by, post_logout_redirect_uris, jwks
        """

    func insertOAuthClient(_ client: OAuthClient, recording event: AuthEvent) async throws {
        let redirectURIs = String(decoding: try JSONEncoder().encode(client.redirectURIs), as: UTF8.self)
        let logoutURIs = String(decoding: try JSONEncoder().encode(client.postLogoutRedirectURIs), as: UTF8.self)
        let keys = String(decoding: try JSONEncoder().encode(client.keys), as: UTF8.self)
        _ = try await recording(event) { tx in
            try await tx.execute(
                """
                INSERT INTO oauth_clients (\(Self.clientColumns))
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
                """,
                [
                    .text(client.id), .text(client.name), .text(client.kind.rawValue),
                    .text(client.authentication.rawValue), .optional(client.secretDigest), .text(redirectURIs),
                    .text(Self.spaced(client.grantTypes.sorted())), .text(Self.spaced(client.scopes.sorted())),
                    .optional(client.backChannelLogoutURI), .integer(client.requiresPushedRequests ? 1 : 0),
                    .text(client.idTokenAlgorithm.rawValue), .time(client.createdAt), .uuid(client.createdBy),
                    .text(logoutURIs), .text(keys),
                ])
            return true
        }
    }

    func oauthClients() async throws -> [OAuthClient] {
        try await database.select(
            "SELECT \(Self.clientColumns) FROM oauth_clients WHERE deleted_at IS NULL ORDER BY created_at, id", []
        ).map(Self.client)
    }

    func oauthClient(id: String) async throws -> OAuthClient? {
        try await database.select(
            "SELECT \(Self.clientColumns) FROM oauth_clients WHERE id = $1 AND deleted_at IS NULL", [.text(id)]
        ).first.map(Self.client)
    }

    func replaceOAuthClientSecret(id: String, digest: String, recording event: AuthEvent) async throws -> Bool {
        try await recording(event) { tx in
            !(try await tx.query(
                "UPDATE oauth_clients SET secret_digest = $1 WHERE id = $2 AND deleted_at IS NULL RETURNING id",
                [.text(digest), .text(id)]
            ).isEmpty)
        }
    }

    func deleteOAuthClient(id: String, at date: Date, recording event: AuthEvent) async throws -> Bool {
        try await recording(event) { tx in
            let deleted = try await tx.query(
                """
                UPDATE oauth_clients SET deleted_at = $1, secret_digest = NULL WHERE id = $2 AND deleted_at IS NULL
                RETURNING id
                """, [.time(date), .text(id)])
            guard !deleted.isEmpty else { return false }
            try await Self.endAccess(of: id, at: date, tx)
            return true
        }
    }

    /// What a deleted client held ends with it: its grants, its unspent codes, and every session (with
    /// its refresh tokens) it had.
    private static func endAccess(of clientID: String, at date: Date, _ tx: any SQLExecutor) async throws {
        try await tx.execute("DELETE FROM oauth_grants WHERE client_id = $1", [.text(clientID)])
        try await tx.execute(
            "UPDATE oauth_codes SET spent_at = $1 WHERE client_id = $2 AND spent_at IS NULL",
            [.time(date), .text(clientID)])
        let sessions = try await tx.query(
            "SELECT id FROM sessions WHERE client_id = $1 AND revoked_at IS NULL", [.text(clientID)])
        for row in sessions { _ = try await revoke(try row.uuid(0), at: date, tx) }
    }

    /// Runs `change` and, when it says it changed something, records `event` with its ledger entry, in
    /// one transaction.
    func recording(
        _ event: AuthEvent, _ change: @escaping @Sendable (any SQLExecutor) async throws -> Bool
    ) async throws -> Bool {
        let sealedEvent = try sealed(event)
        let changed = try await database.transaction { tx in
            guard try await change(tx) else { return false }
            try await PersonalDataVault.insert(sealedEvent.keys, tx)
            try await Self.insert(sealedEvent, tx)
            _ = try await tx.appendLedger([sealedEvent.record])
            return true
        }
        if changed { vault.confirm(sealedEvent.keys) }
        return changed
    }

    private static func spaced<Value: RawRepresentable<String>>(_ values: [Value]) -> String {
        values.map(\.rawValue).joined(separator: " ")
    }

    private static func client(_ row: SQLRow) throws -> OAuthClient {
        func parsed<Value: RawRepresentable<String>>(_ index: Int) throws -> Set<Value> {
            let words = try row.text(index).split(separator: " ")
            let values = words.compactMap { Value(rawValue: String($0)) }
            guard values.count == words.count else { throw StorageError.corrupted("oauth client") }
            return Set(values)
        }
        guard let kind = OAuthClient.Kind(rawValue: try row.text(2)),
            let authentication = OAuthClient.Authentication(rawValue: try row.text(3)),
            let redirectURIs = try? JSONDecoder().decode([String].self, from: Data(try row.text(5).utf8)),
            let logoutURIs = try? JSONDecoder().decode([String].self, from: Data(try row.text(13).utf8)),
            let keys = try? JSONDecoder().decode([[String: String]].self, from: Data(try row.text(14).utf8)),
            let algorithm = SigningAlgorithm(rawValue: try row.text(10))
        else { throw StorageError.corrupted("oauth client") }
        return OAuthClient(
            id: try row.text(0), name: try row.text(1), kind: kind, authentication: authentication,
            secretDigest: row[4].text, redirectURIs: redirectURIs, grantTypes: try parsed(6), scopes: try parsed(7),
            backChannelLogoutURI: row[8].text, postLogoutRedirectURIs: logoutURIs,
            requiresPushedRequests: try row.integer(9) != 0,
            idTokenAlgorithm: algorithm, keys: keys, createdAt: try row.time(11), createdBy: try row.uuid(12))
    }
}
