import Foundation
import Kernel
import PQCrypto
import Privacy

/// Crypto-shredding on either backend. What the law keeps (who decided what, when, under which
/// notice) is pseudonymous and stays readable.
struct SQLErasureRepository: ErasureRepository {
    let database: any SQLDatabase
    let vault: PersonalDataVault

    func shred(subject: String, requestID: UUID?, at date: Date) async throws -> Date {
        let erasedAt = try await database.transaction { tx in
            let inserted = try await tx.query(
                """
                INSERT INTO erased_subjects (subject_id, erased_at, request_id) VALUES ($1, $2, $3)
                ON CONFLICT (subject_id) DO NOTHING RETURNING erased_at
                """, [.text(subject), .time(date), .optional(requestID?.lowercasedString)])
            guard inserted.first != nil else {
                let existing = try await tx.query(
                    "SELECT erased_at FROM erased_subjects WHERE subject_id = $1", [.text(subject)])
                return try existing.first?.time(0) ?? date
            }
            try await tx.execute("DELETE FROM subject_keys WHERE subject_id = $1", [.text(subject)])
            // Sealed already, so unreadable once the keys go; deleted too, so no trace of them stays.
            try await tx.execute("DELETE FROM data_records WHERE subject_id = $1", [.text(subject)])
            try await tx.execute("DELETE FROM valuation_values WHERE subject_id = $1", [.text(subject)])
            // Unreadable without the keys; dropped now, so the sender neither tries nor retries them.
            try await tx.execute(
                """
                UPDATE mail_outbox SET state = 'dropped', payload = NULL, leased_until = NULL, lease = NULL
                WHERE subject_id = $1 AND state IN ('pending', 'dead')
                """, [.text(subject)])
            var fields = ["erased_at": String(date.microsecondsSince1970)]
            fields["request"] = requestID?.lowercasedString
            _ = try await tx.appendLedger([LedgerRecord(type: "erasure", id: subject, fields: fields)])
            return date
        }
        vault.forget(subject: subject)
        return erasedAt
    }

    func erasure(of subject: String) async throws -> Date? {
        try await database.select("SELECT erased_at FROM erased_subjects WHERE subject_id = $1", [.text(subject)])
            .first?.time(0)
    }
}
