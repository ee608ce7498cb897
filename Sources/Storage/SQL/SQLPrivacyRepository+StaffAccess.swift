import Foundation
import Kernel
import Privacy

/// Staff access records. The reason is free text, like a request's rejection reason; the ledger keeps
/// only whether there was one.
extension SQLPrivacyRepository {
    func recordAccess(_ access: StaffAccess) async throws {
        let (request, reason): (String?, String?) =
            switch access.purpose {
            case .request(let id): (id.lowercasedString, nil)
            case .reason(let text): (nil, text)
            }
        try await database.transaction { tx in
            try await tx.execute(
                """
                INSERT INTO staff_access (id, subject_id, staff_id, action, request_id, reason, occurred_at)
                VALUES ($1, $2, $3, $4, $5, $6, $7)
                """,
                [
                    .uuid(access.id), .text(access.subject), .uuid(access.staff), .text(access.action.rawValue),
                    .optional(request), .optional(reason), .time(access.at),
                ])
            var fields = [
                "subject": access.subject, "staff": access.staff.lowercasedString, "action": access.action.rawValue,
                "occurred_at": String(access.at.microsecondsSince1970), "has_reason": reason == nil ? "no" : "yes",
            ]
            fields["request"] = request
            _ = try await tx.appendLedger([LedgerRecord(type: "access", id: access.id.lowercasedString, fields: fields)]
            )
        }
    }

    func accesses(subject: String, limit: Int) async throws -> [StaffAccess] {
        try await database.select(
            """
            SELECT id, staff_id, action, request_id, reason, occurred_at FROM staff_access
            WHERE subject_id = $1 ORDER BY seq DESC LIMIT $2
            """, [.text(subject), .integer(Int64(limit))]
        ).map { row in
            guard let action = StaffAccess.Action(rawValue: try row.text(2)) else {
                throw StorageError.corrupted("staff access")
            }
            let purpose: StaffAccess.Purpose =
                if let request = row[3].text.flatMap(UUID.init(uuidString:)) {
                    .request(request)
                } else {
                    .reason(row[4].text ?? "")
                }
            return StaffAccess(
                id: try row.uuid(0), subject: subject, staff: try row.uuid(1), action: action, purpose: purpose,
                at: try row.time(5))
        }
    }
}
