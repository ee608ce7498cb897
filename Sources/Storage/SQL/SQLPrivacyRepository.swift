import Foundation
import Kernel
import Outbox
import PQCrypto
import Privacy

/// Data-subject requests, in SQL both SQLite and PostgreSQL run unchanged.
struct SQLPrivacyRepository: PrivacyRepository {
    let database: any SQLDatabase
    let vault: PersonalDataVault

    private static let columns = """
        id, subject_id, kind, status, received_at, due_at, extension_reason, rejection_reason, filed_by,
        identity_verification, updated_at
        """

    private static func request(_ row: SQLRow) throws -> DataSubjectRequest {
        guard let kind = RequestKind(rawValue: try row.text(2)), let status = RequestStatus(rawValue: try row.text(3))
        else { throw StorageError.corrupted("data-subject request") }
        return DataSubjectRequest(
            id: try row.uuid(0), subjectID: try row.uuid(1), kind: kind, status: status, receivedAt: try row.time(4),
            dueAt: try row.time(5), extensionReason: row[6].text, rejectionReason: row[7].text,
            filedBy: try row.uuid(8), identityVerification: row[9].text, updatedAt: try row.time(10))
    }

    private static func insert(_ event: RequestEvent, _ tx: any SQLExecutor) async throws {
        try await tx.execute(
            """
            INSERT INTO dsr_events (request_id, from_status, to_status, actor, reason, occurred_at)
            VALUES ($1, $2, $3, $4, $5, $6)
            """,
            [
                .uuid(event.requestID), .optional(event.from?.rawValue), .text(event.to.rawValue), .uuid(event.actor),
                .optional(event.reason), .time(event.at),
            ])
        // Last in every transaction that calls it: the ledger's head stays locked until the commit.
        _ = try await tx.appendLedger([LedgerRecord(request: event)])
    }

    func insertRequest(
        _ request: DataSubjectRequest, event: RequestEvent, queueing mail: [OutboundMail]
    )
        async throws
    {
        let sealedMail = try SQLMailOutbox.seal(mail, vault: vault)
        do {
            try await database.transaction { tx in
                try await SQLMailOutbox.insert(sealedMail, tx)
                try await tx.execute(
                    "INSERT INTO dsr_requests (\(Self.columns)) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                    [
                        .uuid(request.id), .uuid(request.subjectID), .text(request.kind.rawValue),
                        .text(request.status.rawValue), .time(request.receivedAt), .time(request.dueAt),
                        .optional(request.extensionReason), .optional(request.rejectionReason), .uuid(request.filedBy),
                        .optional(request.identityVerification), .time(request.updatedAt),
                    ])
                try await Self.insert(event, tx)
            }
        } catch  where database.isUniqueViolation(error) {
            throw PrivacyError.duplicate
        }
        vault.confirm(sealedMail.keys)
    }

    func request(id: UUID) async throws -> DataSubjectRequest? {
        try await database.select("SELECT \(Self.columns) FROM dsr_requests WHERE id = $1", [.uuid(id)])
            .first.map(Self.request)
    }

    func requests(subjectID: UUID) async throws -> [DataSubjectRequest] {
        try await database.select(
            "SELECT \(Self.columns) FROM dsr_requests WHERE subject_id = $1 ORDER BY received_at DESC",
            [.uuid(subjectID)]
        ).map(Self.request)
    }

    func queue(includeClosed: Bool, limit: Int) async throws -> [DataSubjectRequest] {
        let open = try await database.select(
            """
            SELECT \(Self.columns) FROM dsr_requests WHERE status NOT IN ('completed', 'rejected')
            ORDER BY due_at, received_at LIMIT $1
            """, [.integer(Int64(limit))]
        ).map(Self.request)
        guard includeClosed, open.count < limit else { return open }
        let closed = try await database.select(
            """
            SELECT \(Self.columns) FROM dsr_requests WHERE status IN ('completed', 'rejected')
            ORDER BY updated_at DESC LIMIT $1
            """, [.integer(Int64(limit - open.count))]
        ).map(Self.request)
        return open + closed
    }

    func updateRequest(
        id: UUID, queueing mail: [OutboundMail],
        _ change: @escaping @Sendable (DataSubjectRequest) throws -> (DataSubjectRequest, RequestEvent)
    ) async throws -> DataSubjectRequest {
        let sealedMail = try SQLMailOutbox.seal(mail, vault: vault)
        let updated = try await database.transaction { [database] tx in
            guard
                let current = try await tx.query(
                    "SELECT \(Self.columns) FROM dsr_requests WHERE id = $1 \(database.lockRowsClause)", [.uuid(id)]
                ).first.map(Self.request)
            else { throw PrivacyError.requestNotFound }
            let (updated, event) = try change(current)
            try await tx.execute(
                """
                UPDATE dsr_requests SET status = $2, due_at = $3, extension_reason = $4, rejection_reason = $5,
                    updated_at = $6
                WHERE id = $1
                """,
                [
                    .uuid(id), .text(updated.status.rawValue), .time(updated.dueAt), .optional(updated.extensionReason),
                    .optional(updated.rejectionReason), .time(updated.updatedAt),
                ])
            try await SQLMailOutbox.insert(sealedMail, tx)
            try await Self.insert(event, tx)
            return updated
        }
        vault.confirm(sealedMail.keys)
        return updated
    }

    func events(requestID: UUID) async throws -> [RequestEvent] {
        try await database.select(
            """
            SELECT request_id, from_status, to_status, actor, reason, occurred_at FROM dsr_events
            WHERE request_id = $1 ORDER BY seq
            """, [.uuid(requestID)]
        ).map { row in
            guard let to = RequestStatus(rawValue: try row.text(2)) else {
                throw StorageError.corrupted("request event")
            }
            return RequestEvent(
                requestID: try row.uuid(0), from: row[1].text.flatMap(RequestStatus.init(rawValue:)), to: to,
                actor: try row.uuid(3), reason: row[4].text, at: try row.time(5))
        }
    }

    func overdueCount(at date: Date) async throws -> Int {
        Int(
            try await database.select(
                "SELECT count(*) FROM dsr_requests WHERE status NOT IN ('completed', 'rejected') AND due_at < $1",
                [.time(date)]
            ).first?.integer(0) ?? 0)
    }

    // MARK: Restriction

    func restrictions() async throws -> [String: Date] {
        var subjects: [String: Date] = [:]
        for row in try await database.select("SELECT subject_id, since FROM restrictions", []) {
            subjects[try row.text(0)] = try row.time(1)
        }
        return subjects
    }

    func restrict(subject: String, requestID: UUID?, at date: Date) async throws {
        try await database.transaction { tx in
            let inserted = try await tx.query(
                """
                INSERT INTO restrictions (subject_id, since, request_id) VALUES ($1, $2, $3)
                ON CONFLICT (subject_id) DO NOTHING RETURNING subject_id
                """, [.text(subject), .time(date), .optional(requestID?.lowercasedString)])
            guard !inserted.isEmpty else { return }
            var fields = ["at": String(date.microsecondsSince1970), "change": "restricted"]
            fields["request"] = requestID?.lowercasedString
            _ = try await tx.appendLedger([LedgerRecord(type: "restriction", id: subject, fields: fields)])
        }
    }

    func liftRestriction(subject: String, at date: Date) async throws -> Bool {
        try await database.transaction { tx in
            let deleted = try await tx.query(
                "DELETE FROM restrictions WHERE subject_id = $1 RETURNING subject_id", [.text(subject)])
            guard !deleted.isEmpty else { return false }
            _ = try await tx.appendLedger([
                LedgerRecord(
                    type: "restriction", id: subject,
                    fields: ["at": String(date.microsecondsSince1970), "change": "lifted"])
            ])
            return true
        }
    }
}
