import Foundation
import Identity
import Kernel
import PQCrypto

/// Reading the audit log back, its addresses and agents opened for their users.
extension SQLIdentityRepository {
    func authEvents(userID: UUID?, limit: Int) async throws -> [AuthEvent] {
        let filter = userID == nil ? "" : "WHERE user_id = $2"
        var events: [AuthEvent] = []
        for row in try await database.select(
            """
            SELECT id, kind, occurred_at, user_id, session_id, ip_address, user_agent, details
            FROM auth_events \(filter) ORDER BY seq DESC LIMIT $1
            """, [.integer(Int64(limit))] + (userID.map { [.uuid($0)] } ?? []))
        {
            let details =
                (try? JSONSerialization.jsonObject(with: Data(try row.text(7).utf8))) as? [String: String] ?? [:]
            guard let kind = AuthEvent.Kind(rawValue: try row.text(1)) else { throw StorageError.corrupted("event") }
            let user = row[3].text.flatMap { UUID(uuidString: $0) }
            events.append(
                AuthEvent(
                    id: try row.uuid(0), kind: kind, occurredAt: try row.time(2), userID: user,
                    sessionID: row[4].text.flatMap { UUID(uuidString: $0) },
                    client: try await vault.openClient(
                        row[5].text, row[6].text, subject: user?.lowercasedString ?? Self.unattributed),
                    details: details))
        }
        return events
    }

    func authEvents(
        userID: UUID, after sequence: Int64, limit: Int
    ) async throws -> [(sequence: Int64, event: AuthEvent)] {
        var page: [(Int64, AuthEvent)] = []
        for row in try await database.select(
            """
            SELECT seq, id, kind, occurred_at, session_id, ip_address, user_agent, details FROM auth_events
            WHERE user_id = $1 AND seq > $2 ORDER BY seq LIMIT $3
            """, [.uuid(userID), .integer(sequence), .integer(Int64(limit))])
        {
            guard let kind = AuthEvent.Kind(rawValue: try row.text(2)) else { throw StorageError.corrupted("event") }
            let details =
                (try? JSONSerialization.jsonObject(with: Data(try row.text(7).utf8))) as? [String: String] ?? [:]
            page.append(
                (
                    try row.integer(0),
                    AuthEvent(
                        id: try row.uuid(1), kind: kind, occurredAt: try row.time(3), userID: userID,
                        sessionID: row[4].text.flatMap { UUID(uuidString: $0) },
                        client: try await vault.openClient(row[5].text, row[6].text, subject: userID.lowercasedString),
                        details: details)
                ))
        }
        return page
    }
}
