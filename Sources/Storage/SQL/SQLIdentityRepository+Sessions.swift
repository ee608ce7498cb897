import Foundation
import Identity
import Kernel
import Outbox
import PQCrypto

/// Sessions: started with their first refresh token and the events and mail of the sign-in, revoked
/// with the application sessions started from them (queueing the notices that tell their clients).
extension SQLIdentityRepository {

    static let sessionColumns =
        "id, user_id, created_at, last_used_at, ip_address, user_agent, revoked_at, remember_me, amr, client_id, "
        + "scopes, auth_time, dpop_jkt, parent_session_id"

    func session(_ row: SQLRow) async throws -> Session {
        let userID = try row.uuid(1)
        var application: Session.Application?
        if let clientID = row[9].text {
            application = Session.Application(
                clientID: clientID, scopes: try Self.scopes(row[10].text ?? ""), authenticatedAt: try row.time(11),
                boundKey: row[12].text, parentSessionID: row[13].text.flatMap(UUID.init(uuidString:)))
        }
        return Session(
            id: try row.uuid(0), userID: userID, createdAt: try row.time(2), lastUsedAt: try row.time(3),
            client: try await vault.openClient(row[4].text, row[5].text, subject: userID.lowercasedString),
            revokedAt: row.optionalTime(6),
            rememberMe: try row.integer(7) == 1,
            authenticationMethods: try row.text(8).split(separator: " ").map(String.init), application: application)
    }

    static func scopes(_ text: String) throws -> Set<OAuthClient.Scope> {
        let words = text.split(separator: " ")
        let scopes = words.compactMap { OAuthClient.Scope(rawValue: String($0)) }
        guard scopes.count == words.count else { throw StorageError.corrupted("oauth scopes") }
        return Set(scopes)
    }

    func insertSession(
        _ session: Session, firstToken: RefreshTokenRecord, recording events: [AuthEvent],
        clearingThrottle key: String?,
        queueing mail: [OutboundMail]
    ) async throws {
        let client = try vault.sealClient(session.client, subject: session.userID.lowercasedString)
        let sealedEvents = try events.map(sealed)
        let sealedMail = try SQLMailOutbox.seal(mail, vault: vault)
        let keys = client.keys + sealedEvents.flatMap(\.keys) + sealedMail.keys
        try await database.transaction { tx in
            try await PersonalDataVault.insert(keys, tx)
            try await SQLMailOutbox.insert(sealedMail, tx)
            if let key { try await tx.execute("DELETE FROM login_throttle WHERE key = $1", [.text(key)]) }
            try await Self.insertSession(session, ip: client.ip, agent: client.agent, tx)
            try await Self.insertToken(firstToken, tx)
            for event in sealedEvents { try await Self.insert(event, tx) }
            _ = try await tx.appendLedger(sealedEvents.map(\.record))
        }
        vault.confirm(keys)
    }

    static func insertSession(
        _ session: Session, ip: String?, agent: String?, _ tx: any SQLExecutor
    ) async throws {
        try await tx.execute(
            """
            INSERT INTO sessions (
                id, user_id, created_at, last_used_at, ip_address, user_agent, remember_me, amr, client_id, scopes,
                auth_time, dpop_jkt, parent_session_id)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
            """,
            [
                .uuid(session.id), .uuid(session.userID), .time(session.createdAt), .time(session.lastUsedAt),
                .optional(ip), .optional(agent),
                .integer(session.rememberMe ? 1 : 0), .text(session.authenticationMethods.joined(separator: " ")),
                .optional(session.application?.clientID),
                .optional(session.application.map { OAuthClient.Scope.text($0.scopes) }),
                .optionalTime(session.application?.authenticatedAt), .optional(session.application?.boundKey),
                session.application?.parentSessionID.map { .uuid($0) } ?? .null,
            ])
    }

    static func insertToken(_ token: RefreshTokenRecord, _ tx: any SQLExecutor) async throws {
        try await tx.execute(
            """
            INSERT INTO refresh_tokens (digest, session_id, user_id, issued_at, expires_at, grace_reuses)
            VALUES ($1, $2, $3, $4, $5, 0)
            """,
            [
                .text(token.digest), .uuid(token.sessionID), .uuid(token.userID), .time(token.issuedAt),
                .time(token.expiresAt),
            ])
    }

    func session(id: UUID) async throws -> Session? {
        guard
            let row = try await database.select(
                "SELECT \(Self.sessionColumns) FROM sessions WHERE id = $1", [.uuid(id)]
            ).first
        else { return nil }
        return try await session(row)
    }

    func sessions(userID: UUID) async throws -> [Session] {
        var sessions: [Session] = []
        for row in try await database.select(
            "SELECT \(Self.sessionColumns) FROM sessions WHERE user_id = $1 ORDER BY created_at DESC", [.uuid(userID)])
        {
            sessions.append(try await session(row))
        }
        return sessions
    }

    func revokeSession(id: UUID, at date: Date) async throws -> Bool {
        try await database.transaction { tx in
            try await Self.revoke(id, at: date, tx)
        }
    }

    /// Revokes a session, every refresh token of it, the application sessions started from it and the
    /// codes it was given, and queues the notices that tell their clients.
    static func revoke(_ id: UUID, at date: Date, _ tx: any SQLExecutor) async throws -> Bool {
        let revoked = try await tx.query(
            "UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL RETURNING id",
            [.time(date), .uuid(id)])
        try await tx.execute("DELETE FROM refresh_tokens WHERE session_id = $1", [.uuid(id)])
        let children = try await tx.query(
            "UPDATE sessions SET revoked_at = $1 WHERE parent_session_id = $2 AND revoked_at IS NULL RETURNING id",
            [.time(date), .uuid(id)])
        let childIDs = try children.map { try $0.uuid(0) }
        for child in childIDs {
            try await tx.execute("DELETE FROM refresh_tokens WHERE session_id = $1", [.uuid(child)])
        }
        // A code the session was given but not yet redeemed would start an application session after
        // it ended.
        try await tx.execute(
            "UPDATE oauth_codes SET spent_at = $1 WHERE web_session_id = $2 AND spent_at IS NULL",
            [.time(date), .uuid(id)])
        try await queueLogoutNotices(for: (revoked.isEmpty ? [] : [id]) + childIDs, at: date, tx)
        return !revoked.isEmpty
    }

    func revokeSessions(userID: UUID, keeping: UUID?, at date: Date) async throws -> [UUID] {
        try await database.transaction { tx in
            let ids = try await tx.query(
                "SELECT id FROM sessions WHERE user_id = $1 AND revoked_at IS NULL", [.uuid(userID)]
            ).map { try $0.uuid(0) }.filter { $0 != keeping }
            for id in ids { _ = try await Self.revoke(id, at: date, tx) }
            return ids
        }
    }

    func touchSession(id: UUID, at date: Date) async throws {
        try await database.transaction { tx in
            try await tx.execute("UPDATE sessions SET last_used_at = $1 WHERE id = $2", [.time(date), .uuid(id)])
        }
    }
}
