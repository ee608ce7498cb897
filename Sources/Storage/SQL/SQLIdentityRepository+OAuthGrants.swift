import Foundation
import Identity
import Kernel

/// Authorization codes, the grants people gave applications, and the sessions those applications hold.
extension SQLIdentityRepository {
    func insertAuthorizationCode(_ code: AuthorizationCode) async throws {
        try await database.transaction { tx in
            try await tx.execute(
                """
                INSERT INTO oauth_codes (
                    digest, client_id, user_id, redirect_uri, scopes, nonce, code_challenge, auth_time, amr, expires_at,
                    web_session_id)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
                """,
                [
                    .text(code.digest), .text(code.clientID), .uuid(code.userID), .text(code.redirectURI),
                    .text(OAuthClient.Scope.text(code.scopes)), .optional(code.nonce), .text(code.codeChallenge),
                    .time(code.authenticatedAt), .text(code.authenticationMethods.joined(separator: " ")),
                    .time(code.expiresAt), code.webSessionID.map { .uuid($0) } ?? .null,
                ])
        }
    }

    func redeemAuthorizationCode(
        digest: String, clientID: String, at date: Date,
        decide: @escaping @Sendable (AuthorizationCode) -> CodeDecision
    ) async throws -> CodeRedemption {
        let outcome = try await database.transaction {
            [database, self] tx -> (CodeRedemption, [PersonalDataVault.KeyRow]) in
            guard
                let row = try await tx.query(
                    """
                    SELECT digest, client_id, user_id, redirect_uri, scopes, nonce, code_challenge, auth_time, amr,
                        expires_at, spent_at, session_id, web_session_id
                    FROM oauth_codes WHERE digest = $1 \(database.lockRowsClause)
                    """, [.text(digest)]
                ).first
            else { return (.refused(Self.invalidCode), []) }
            let code = AuthorizationCode(
                digest: try row.text(0), clientID: try row.text(1), userID: try row.uuid(2),
                redirectURI: try row.text(3), scopes: try Self.scopes(try row.text(4)), nonce: row[5].text,
                codeChallenge: try row.text(6), authenticatedAt: try row.time(7),
                authenticationMethods: try row.text(8).split(separator: " ").map(String.init),
                expiresAt: try row.time(9), webSessionID: row[12].text.flatMap(UUID.init(uuidString:)))
            // Someone else's code is not this client's to spend or to replay.
            guard code.clientID == clientID else { return (.refused(Self.invalidCode), []) }
            if row.optionalTime(10) != nil {
                let sessionID = row[11].text.flatMap(UUID.init(uuidString:))
                if let sessionID { _ = try await Self.revoke(sessionID, at: date, tx) }
                return (.replayed(code, revokedSession: sessionID), [])
            }
            let granted = try await tx.query(
                "SELECT 1 FROM oauth_grants WHERE user_id = $1 AND client_id = $2",
                [.uuid(code.userID), .text(clientID)])
            let decision: CodeDecision =
                granted.isEmpty
                ? .refuse(OAuthError(.invalidGrant, "the person has disconnected the client")) : decide(code)
            switch decision {
            case .refuse(let error):
                try await tx.execute(
                    "UPDATE oauth_codes SET spent_at = $1 WHERE digest = $2", [.time(date), .text(digest)])
                return (.refused(error), [])
            case .issue(let session, let firstToken, let events):
                let client = try self.vault.sealClient(session.client, subject: session.userID.lowercasedString)
                let sealedEvents = try events.map(self.sealed)
                let keys = client.keys + sealedEvents.flatMap(\.keys)
                try await PersonalDataVault.insert(keys, tx)
                try await tx.execute(
                    "UPDATE oauth_codes SET spent_at = $1, session_id = $2 WHERE digest = $3",
                    [.time(date), .uuid(session.id), .text(digest)])
                try await Self.insertSession(session, ip: client.ip, agent: client.agent, tx)
                if let firstToken { try await Self.insertToken(firstToken, tx) }
                for event in sealedEvents { try await Self.insert(event, tx) }
                _ = try await tx.appendLedger(sealedEvents.map(\.record))
                return (.redeemed(code), keys)
            }
        }
        vault.confirm(outcome.1)
        return outcome.0
    }

    private static let invalidCode = OAuthError(.invalidGrant, "the code is not valid")

    func insertPushedRequest(_ request: PushedRequest) async throws {
        try await database.transaction { tx in
            try await tx.execute(
                "INSERT INTO oauth_pushed_requests (digest, client_id, parameters, expires_at) VALUES ($1, $2, $3, $4)",
                [.text(request.digest), .text(request.clientID), .text(request.parameters), .time(request.expiresAt)])
        }
    }

    func pushedRequest(digest: String) async throws -> PushedRequest? {
        try await database.select(
            "SELECT digest, client_id, parameters, expires_at FROM oauth_pushed_requests WHERE digest = $1",
            [.text(digest)]
        ).first.map { row in
            PushedRequest(
                digest: try row.text(0), clientID: try row.text(1), parameters: try row.text(2),
                expiresAt: try row.time(3))
        }
    }

    func deletePushedRequest(digest: String) async throws -> Bool {
        !(try await database.write(
            "DELETE FROM oauth_pushed_requests WHERE digest = $1 RETURNING digest", [.text(digest)]
        ).isEmpty)
    }

    func refreshToken(digest: String) async throws -> RefreshTokenRecord? {
        try await database.select(
            """
            SELECT digest, session_id, user_id, issued_at, expires_at, rotated_at, grace_reuses
            FROM refresh_tokens WHERE digest = $1
            """, [.text(digest)]
        ).first.map { row in
            RefreshTokenRecord(
                digest: try row.text(0), sessionID: try row.uuid(1), userID: try row.uuid(2),
                issuedAt: try row.time(3), expiresAt: try row.time(4), rotatedAt: row.optionalTime(5),
                graceReuses: Int(try row.integer(6)))
        }
    }

    func oauthGrant(userID: UUID, clientID: String) async throws -> OAuthGrant? {
        try await database.select(
            "SELECT user_id, client_id, scopes, granted_at FROM oauth_grants WHERE user_id = $1 AND client_id = $2",
            [.uuid(userID), .text(clientID)]
        ).first.map(Self.grant)
    }

    func oauthGrants(userID: UUID) async throws -> [OAuthGrant] {
        try await database.select(
            "SELECT user_id, client_id, scopes, granted_at FROM oauth_grants WHERE user_id = $1 ORDER BY granted_at",
            [.uuid(userID)]
        ).map(Self.grant)
    }

    func saveOAuthGrant(_ grant: OAuthGrant, recording event: AuthEvent) async throws {
        _ = try await recording(event) { tx in
            try await tx.execute(
                """
                INSERT INTO oauth_grants (user_id, client_id, scopes, granted_at) VALUES ($1, $2, $3, $4)
                ON CONFLICT (user_id, client_id) DO UPDATE SET scopes = excluded.scopes, granted_at = excluded.granted_at
                """,
                [
                    .uuid(grant.userID), .text(grant.clientID), .text(OAuthClient.Scope.text(grant.scopes)),
                    .time(grant.grantedAt),
                ])
            return true
        }
    }

    func deleteOAuthGrant(
        userID: UUID, clientID: String, at date: Date, recording event: AuthEvent
    ) async throws
        -> [UUID]?
    {
        let sealedEvent = try sealed(event)
        let revoked = try await database.transaction { tx -> [UUID]? in
            let rows = try await tx.query(
                "DELETE FROM oauth_grants WHERE user_id = $1 AND client_id = $2 RETURNING client_id",
                [.uuid(userID), .text(clientID)])
            guard !rows.isEmpty else { return nil }
            let sessions = try await tx.query(
                "SELECT id FROM sessions WHERE user_id = $1 AND client_id = $2 AND revoked_at IS NULL",
                [.uuid(userID), .text(clientID)]
            ).map { try $0.uuid(0) }
            for id in sessions { _ = try await Self.revoke(id, at: date, tx) }
            try await tx.execute(
                "UPDATE oauth_codes SET spent_at = $1 WHERE user_id = $2 AND client_id = $3 AND spent_at IS NULL",
                [.time(date), .uuid(userID), .text(clientID)])
            try await PersonalDataVault.insert(sealedEvent.keys, tx)
            try await Self.insert(sealedEvent, tx)
            _ = try await tx.appendLedger([sealedEvent.record])
            return sessions
        }
        if revoked != nil { vault.confirm(sealedEvent.keys) }
        return revoked
    }

    private static func grant(_ row: SQLRow) throws -> OAuthGrant {
        OAuthGrant(
            userID: try row.uuid(0), clientID: try row.text(1), scopes: try scopes(try row.text(2)),
            grantedAt: try row.time(3))
    }
}
