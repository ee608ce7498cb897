import Foundation
import Identity
import Kernel
import Privacy

/// Consent rows as stored, sealed fields sealed, on either backend.
protocol StoredConsentRows: Sendable {
    func storedRows(ids: [UUID]) async throws -> [StoredEventRow]
    /// The rows that say their entries are these: one range scan instead of a look-up per id.
    func storedRows(ledgerSequences: ClosedRange<Int64>) async throws -> [StoredEventRow]
}

extension PostgresConsentWrites: StoredConsentRows {}
extension SQLiteConsentWrites: StoredConsentRows {}

/// The consent and auth tables as the ledger binds them (``RecordedRows``), on either backend. Each
/// row's contents are rebuilt from its columns as stored, sealed fields by their ciphertexts' digests,
/// so nothing is opened and erased subjects' rows bind as well as anyone's.
struct SQLRecordedRows: RecordedRows {
    let database: any SQLDatabase
    let consentRows: any StoredConsentRows

    var boundTypes: Set<String> { ["consent", "auth", "dsr"] }

    func contents(of entries: [LedgerEntry]) async throws -> [String: [Data]] {
        var consentEntries: [LedgerEntry] = []
        var authIDs: [String] = []
        var requestIDs: Set<String> = []
        for entry in entries {
            let reference = entry.reference
            if reference.hasPrefix("consent:") {
                consentEntries.append(entry)
            } else if reference.hasPrefix("auth:") {
                authIDs.append(String(reference.dropFirst(5)))
            } else if reference.hasPrefix("dsr:") {
                requestIDs.insert(String(reference.dropFirst(4)))
            }
        }
        var contents = try await consentContents(of: consentEntries)
        try await addTransitions(of: Array(requestIDs), to: &contents)
        guard !authIDs.isEmpty else { return contents }
        let placeholders = (1...authIDs.count).map { "$\($0)" }.joined(separator: ", ")
        for row in try await database.select(
            """
            SELECT id, kind, occurred_at, user_id, session_id, ip_address, user_agent, details FROM auth_events
            WHERE id IN (\(placeholders))
            """, authIDs.map(SQLValue.text))
        {
            let id = try row.text(0)
            var fields = ["kind": try row.text(1), "occurred_at": String(try row.integer(2))]
            fields["user"] = row[3].text
            fields["session"] = row[4].text
            let details =
                (try? JSONSerialization.jsonObject(with: Data(try row.text(7).utf8))) as? [String: String] ?? [:]
            for (key, value) in details { fields["detail." + key] = value }
            contents["auth:" + id] = LedgerRecord.contents(
                fields, type: "auth", id: id, sealedIP: row[5].text, sealedAgent: row[6].text)
        }
        return contents
    }

    /// The consent rows are read by the range of entries they claim, which is every row of an
    /// untouched ledger; the few found elsewhere are looked up by id. The form from before sealed
    /// fields were bound is built only for a row whose current form differs from its entry.
    private func consentContents(of entries: [LedgerEntry]) async throws -> [String: [Data]] {
        guard let first = entries.first?.sequence, let last = entries.last?.sequence else { return [:] }
        var rows: [String: StoredEventRow] = [:]
        rows.reserveCapacity(entries.count)
        for row in try await consentRows.storedRows(ledgerSequences: min(first, last)...max(first, last)) {
            rows["consent:" + row.id.lowercasedString] = row
        }
        let elsewhere = entries.compactMap { entry in
            rows[entry.reference] == nil ? UUID(uuidString: String(entry.reference.dropFirst(8))) : nil
        }
        if !elsewhere.isEmpty {
            for row in try await consentRows.storedRows(ids: elsewhere) {
                rows["consent:" + row.id.lowercasedString] = row
            }
        }
        var contents: [String: [Data]] = [:]
        contents.reserveCapacity(entries.count)
        for entry in entries {
            guard let row = rows[entry.reference] else { continue }
            // A row that names another entry as its own no longer matches this one.
            if let claimed = row.ledgerSequence, claimed != entry.sequence {
                contents[entry.reference] = []
                continue
            }
            let id = row.id.lowercasedString
            let current = LedgerRecord.consentContent(row, id: id)
            contents[entry.reference] =
                current == entry.content
                ? [current]
                : LedgerRecord.contents(
                    row.ledgerFields, type: "consent", id: id, sealedIP: row.sourceIP, sealedAgent: row.userAgent)
        }
        return contents
    }

    /// Each transition of these requests as its entry recorded it (`LedgerRecord(request:)`).
    private func addTransitions(of requestIDs: [String], to contents: inout [String: [Data]]) async throws {
        guard !requestIDs.isEmpty else { return }
        let placeholders = (1...requestIDs.count).map { "$\($0)" }.joined(separator: ", ")
        for row in try await database.select(
            """
            SELECT request_id, from_status, to_status, actor, reason IS NOT NULL, occurred_at FROM dsr_events
            WHERE request_id IN (\(placeholders))
            """, requestIDs.map(SQLValue.text))
        {
            let id = try row.text(0)
            var fields = [
                "to": try row.text(2), "actor": try row.text(3), "occurred_at": String(try row.integer(5)),
                "has_reason": Self.isTrue(row[4]) ? "yes" : "no",
            ]
            fields["from"] = row[1].text
            contents["dsr:" + id, default: []].append(LedgerRecord(type: "dsr", id: id, fields: fields).content)
        }
    }

    /// A boolean as either backend returns it.
    private static func isTrue(_ value: SQLValue) -> Bool {
        value.integer.map { $0 != 0 } ?? (value.text == "true" || value.text == "t")
    }

    func census() async throws -> RowCensus {
        let row = try await database.select(
            """
            SELECT (SELECT size FROM ledger_head), (SELECT count(*) FROM consent_events),
                (SELECT count(*) FROM auth_events), (SELECT count(*) FROM dsr_events)
            """, [])
        guard let row = row.first else { throw StorageError.corrupted("ledger head") }
        return RowCensus(
            ledgerSize: try row.integer(0),
            rows: ["consent": try row.integer(1), "auth": try row.integer(2), "dsr": try row.integer(3)])
    }

    /// A row's entry: by its id for consent and auth rows; a transition's is the request's entry with
    /// the same time, target status and actor.
    func unrecorded(type: String, limit: Int) async throws -> [String] {
        let sql =
            switch type {
            case "consent", "auth":
                """
                SELECT '\(type):' || r.id FROM \(type == "consent" ? "consent_events" : "auth_events") r
                WHERE NOT EXISTS (SELECT 1 FROM ledger_entries e WHERE e.reference = '\(type):' || r.id) LIMIT $1
                """
            default:
                """
                SELECT 'dsr:' || r.request_id FROM dsr_events r
                WHERE (SELECT count(*) FROM dsr_events o WHERE o.request_id = r.request_id)
                    > (SELECT count(*) FROM ledger_entries e WHERE e.reference = 'dsr:' || r.request_id) LIMIT $1
                """
            }
        return try await database.select(sql, [.integer(Int64(limit))]).map { try $0.text(0) }
    }
}

extension StoredEventRow {
    /// The fields a consent entry states, from the row's columns.
    var ledgerFields: [String: String] {
        var fields = [
            "subject": subjectID, "purpose": purposeID, "decision": decision, "notice_version": String(noticeVersion),
            "method": method, "recorded_at": String(recordedAtMicros),
        ]
        fields["client_timestamp"] = clientTimestampMicros.map(String.init)
        return fields
    }
}
