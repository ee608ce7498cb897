import Foundation
import Identity
import Outbox

/// The devices accounts signed in from, and the notices people turned off.
extension SQLIdentityRepository {
    func rememberDevice(userID: UUID, digest: String, at date: Date) async throws -> (isNew: Bool, hadOthers: Bool) {
        try await database.transaction { tx in
            let inserted = try await tx.query(
                """
                INSERT INTO known_devices (user_id, digest, first_seen) VALUES ($1, $2, $3)
                ON CONFLICT (user_id, digest) DO NOTHING RETURNING digest
                """, [.uuid(userID), .text(digest), .time(date)])
            guard !inserted.isEmpty else { return (false, true) }
            let others = try await tx.query(
                "SELECT 1 FROM known_devices WHERE user_id = $1 AND digest <> $2 LIMIT 1",
                [.uuid(userID), .text(digest)])
            return (true, !others.isEmpty)
        }
    }

    func setLocale(userID: UUID, locale: String?) async throws {
        _ = try await database.write(
            "UPDATE accounts SET locale = $1 WHERE id = $2 RETURNING id", [.optional(locale), .uuid(userID)])
    }

    func setMutedNotices(userID: UUID, _ notices: Set<MailTemplateName>, recording event: AuthEvent) async throws {
        let sealedEvent = try sealed(event)
        try await database.transaction { tx in
            try await tx.execute(
                "UPDATE accounts SET muted_notices = $1 WHERE id = $2",
                [.text(notices.map(\.rawValue).sorted().joined(separator: " ")), .uuid(userID)])
            try await PersonalDataVault.insert(sealedEvent.keys, tx)
            try await Self.insert(sealedEvent, tx)
            _ = try await tx.appendLedger([sealedEvent.record])
        }
        vault.confirm(sealedEvent.keys)
    }
}
