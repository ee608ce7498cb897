import Foundation
import Kernel
import Outbox

/// The mail outbox on either backend. Messages enter it inside other repositories' transactions
/// (``insert(_:_:)``); this type is the sender's and the admins' side.
struct SQLMailOutbox: MailOutboxRepository {
    let database: any SQLDatabase
    let vault: PersonalDataVault

    /// Messages sealed for their subjects, with the data keys their seals first used.
    struct Sealed {
        let mails: [(mail: OutboundMail, payload: String)]
        let keys: [PersonalDataVault.KeyRow]
    }

    private struct Payload: Codable {
        let to: String
        let values: [String: String]
    }

    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return encoder
    }()

    static func seal(_ mails: [OutboundMail], vault: PersonalDataVault) throws -> Sealed {
        var sealed: [(OutboundMail, String)] = []
        var keys: [PersonalDataVault.KeyRow] = []
        for mail in mails {
            let json = try encoder.encode(Payload(to: mail.recipient, values: mail.values))
            let (payload, key) = try vault.seal(
                String(decoding: json, as: UTF8.self), subject: mail.subject, field: "mail")
            sealed.append((mail, payload ?? ""))
            if let key { keys.append(key) }
        }
        return Sealed(mails: sealed, keys: keys)
    }

    /// Queues sealed messages inside the caller's transaction: they exist exactly when its change does.
    static func insert(_ sealed: Sealed, _ tx: any SQLExecutor) async throws {
        try await PersonalDataVault.insert(sealed.keys, tx)
        for (mail, payload) in sealed.mails {
            try await tx.execute(
                """
                INSERT INTO mail_outbox (id, subject_id, template, locale, payload, state, next_attempt_at, created_at)
                VALUES ($1, $2, $3, $4, $5, 'pending', $6, $6)
                """,
                [
                    .uuid(mail.id), .text(mail.subject), .text(mail.template.rawValue), .text(mail.locale),
                    .text(payload), .time(mail.createdAt),
                ])
        }
    }

    func lease(limit: Int, now: Date, for duration: TimeInterval) async throws -> [LeasedMail] {
        let lease = UUID()
        let rows = try await database.lease(
            "mail_outbox", key: "id", returning: "id, subject_id, template, locale, payload, attempts, created_at",
            limit: limit, now: now, for: duration, lease: lease)
        var leased: [LeasedMail] = []
        for row in rows {
            let id = try row.uuid(0)
            let subject = try row.text(1)
            var mail: OutboundMail?
            if let json = try await vault.open(row[4].text, subject: subject, field: "mail"),
                let payload = try? JSONDecoder().decode(Payload.self, from: Data(json.utf8))
            {
                mail = OutboundMail(
                    id: id, subject: subject, template: MailTemplateName(rawValue: try row.text(2)),
                    locale: try row.text(3), recipient: payload.to, values: payload.values, createdAt: try row.time(6))
            }
            leased.append(LeasedMail(id: id, mail: mail, attempt: Int(try row.integer(5)), lease: lease))
        }
        return leased
    }

    func markSent(_ id: UUID, lease: UUID, at date: Date) async throws -> Bool {
        try await finish(
            id, lease: lease, "state = 'sent', sent_at = $3, payload = NULL, last_error = NULL", [.time(date)])
    }

    func markFailed(_ id: UUID, lease: UUID, error: String, retryAt: Date?) async throws -> Bool {
        guard let retryAt else {
            return try await finish(id, lease: lease, "state = 'dead', last_error = $3", [.text(error)])
        }
        return try await finish(
            id, lease: lease, "next_attempt_at = $3, last_error = $4", [.time(retryAt), .text(error)])
    }

    func markDropped(_ id: UUID, lease: UUID) async throws -> Bool {
        try await finish(id, lease: lease, "state = 'dropped', payload = NULL", [])
    }

    /// Applies `assignments` to a pending message still held by `lease`, and ends the lease.
    private func finish(_ id: UUID, lease: UUID, _ assignments: String, _ binds: [SQLValue]) async throws -> Bool {
        try await !database.write(
            """
            UPDATE mail_outbox SET \(assignments), leased_until = NULL, lease = NULL
            WHERE id = $1 AND lease = $2 AND state = 'pending' RETURNING id
            """, [.uuid(id), .uuid(lease)] + binds
        ).isEmpty
    }

    func mails(in state: OutboxState, limit: Int) async throws -> [QueuedMailStatus] {
        try await database.select(
            """
            SELECT id, subject_id, template, state, attempts, created_at, next_attempt_at, sent_at, last_error
            FROM mail_outbox WHERE state = $1 ORDER BY created_at DESC LIMIT $2
            """, [.text(state.rawValue), .integer(Int64(limit))]
        ).map { row in
            guard let state = OutboxState(rawValue: try row.text(3)) else { throw StorageError.corrupted("mail") }
            return QueuedMailStatus(
                id: try row.uuid(0), subject: try row.text(1), template: MailTemplateName(rawValue: try row.text(2)),
                state: state, attempts: Int(try row.integer(4)), createdAt: try row.time(5),
                nextAttemptAt: state == .pending ? row.optionalTime(6) : nil, sentAt: row.optionalTime(7),
                lastError: row[8].text)
        }
    }

    func requeue(_ id: UUID, at date: Date) async throws -> Bool {
        try await !database.write(
            """
            UPDATE mail_outbox SET state = 'pending', attempts = 0, next_attempt_at = $2, last_error = NULL
            WHERE id = $1 AND state = 'dead' RETURNING id
            """, [.uuid(id), .time(date)]
        ).isEmpty
    }

    func purge(before date: Date) async throws -> Int {
        try await database.write(
            "DELETE FROM mail_outbox WHERE state IN ('sent', 'dropped') AND created_at < $1 RETURNING id",
            [.time(date)]
        ).count
    }
}
