import Foundation
import Identity
import Kernel

/// The back-channel logout queue: notices enter it inside the transactions that end sessions.
extension SQLIdentityRepository {
    /// Queues a notice for each application session in `sessionIDs` whose client listens for logouts.
    static func queueLogoutNotices(for sessionIDs: [UUID], at date: Date, _ tx: any SQLExecutor) async throws {
        for id in sessionIDs {
            try await tx.execute(
                """
                INSERT INTO oauth_logout_notices (session_id, client_id, user_id, created_at, next_attempt_at)
                SELECT s.id, s.client_id, s.user_id, $1, $1
                FROM sessions s JOIN oauth_clients c ON c.id = s.client_id
                WHERE s.id = $2 AND c.backchannel_logout_uri IS NOT NULL AND c.deleted_at IS NULL
                ON CONFLICT (session_id) DO NOTHING
                """, [.time(date), .uuid(id)])
        }
    }

    func leaseLogoutNotices(limit: Int, now: Date, for duration: TimeInterval) async throws -> [LogoutNotice] {
        let lease = UUID()
        return try await database.lease(
            "oauth_logout_notices", key: "session_id",
            returning: "session_id, client_id, user_id, attempts, created_at",
            limit: limit, now: now, for: duration, lease: lease
        ).map { row in
            LogoutNotice(
                sessionID: try row.uuid(0), clientID: try row.text(1), userID: try row.uuid(2),
                attempt: Int(try row.integer(3)), lease: lease)
        }
    }

    func finishLogoutNotice(sessionID: UUID, lease: UUID) async throws -> Bool {
        try await !database.write(
            "DELETE FROM oauth_logout_notices WHERE session_id = $1 AND lease = $2 AND state = 'pending' RETURNING 1",
            [.uuid(sessionID), .uuid(lease)]
        ).isEmpty
    }

    func failLogoutNotice(sessionID: UUID, lease: UUID, error: String, retryAt: Date?) async throws -> Bool {
        try await !database.write(
            """
            UPDATE oauth_logout_notices
            SET state = $3, next_attempt_at = COALESCE($4, next_attempt_at), last_error = $5, leased_until = NULL,
                lease = NULL
            WHERE session_id = $1 AND lease = $2 AND state = 'pending' RETURNING session_id
            """,
            [
                .uuid(sessionID), .uuid(lease), .text(retryAt == nil ? "dead" : "pending"),
                retryAt.map { .time($0) } ?? .null, .text(error),
            ]
        ).isEmpty
    }
}
