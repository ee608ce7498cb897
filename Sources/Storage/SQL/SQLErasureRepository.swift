import Consent
import Foundation
import Kernel
import PQCrypto
import Privacy

/// Crypto-shredding on either backend. What the law keeps (who decided what, when, under which
/// notice) is pseudonymous and stays readable.
struct SQLErasureRepository: ErasureRepository {
    let database: any SQLDatabase
    let vault: PersonalDataVault

    /// Shreds the subject and, for an account, the website visitors whose history it took over.
    func shred(subject: String, requestID: UUID?, at date: Date) async throws -> Date {
        let (erasedAt, shredded) = try await database.transaction { tx in
            guard try await Self.shred(subject, requestID: requestID, at: date, in: tx) else {
                let existing = try await tx.query(
                    "SELECT erased_at FROM erased_subjects WHERE subject_id = $1", [.text(subject)])
                return (try existing.first?.time(0) ?? date, [String]())
            }
            var shredded = [subject]
            let linked = try await tx.query(
                "SELECT visitor_id FROM visitor_links WHERE account_id = $1 ORDER BY visitor_id", [.text(subject)])
            for row in linked {
                let visitor = VisitorLink.subject(try row.uuid(0))
                if try await Self.shred(visitor, requestID: requestID, at: date, in: tx) { shredded.append(visitor) }
            }
            var fields = ["erased_at": String(date.microsecondsSince1970)]
            fields["request"] = requestID?.lowercasedString
            // Last: the ledger's head stays locked until the commit, keeping ledger order commit order.
            _ = try await tx.appendLedger(shredded.map { LedgerRecord(type: "erasure", id: $0, fields: fields) })
            return (date, shredded)
        }
        for subject in shredded { vault.forget(subject: subject) }
        return erasedAt
    }

    /// False when the subject was erased already.
    private static func shred(
        _ subject: String, requestID: UUID?, at date: Date, in tx: any SQLExecutor
    ) async throws -> Bool {
        let inserted = try await tx.query(
            """
            INSERT INTO erased_subjects (subject_id, erased_at, request_id) VALUES ($1, $2, $3)
            ON CONFLICT (subject_id) DO NOTHING RETURNING erased_at
            """, [.text(subject), .time(date), .optional(requestID?.lowercasedString)])
        guard inserted.first != nil else { return false }
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
        return true
    }

    func erasure(of subject: String) async throws -> Date? {
        try await database.select("SELECT erased_at FROM erased_subjects WHERE subject_id = $1", [.text(subject)])
            .first?.time(0)
    }
}
