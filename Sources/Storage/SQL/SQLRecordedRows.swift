import Foundation
import Identity
import Kernel
import Privacy

/// The consent and auth tables as the ledger binds them (``RecordedRows``), on either backend. Each
/// row's contents are rebuilt from its columns as stored, sealed fields by their ciphertexts' digests,
/// so nothing is opened and erased subjects' rows bind as well as anyone's.
struct SQLRecordedRows: RecordedRows {
    let database: any SQLDatabase
    /// The consent rows with these ids, as the backend stores them.
    let consentRows: @Sendable ([UUID]) async throws -> [StoredEventRow]

    var boundTypes: Set<String> { ["consent", "auth", "dsr"] }

    func contents(of references: [String]) async throws -> [String: [Data]] {
        var consentIDs: [UUID] = []
        var authIDs: [String] = []
        var requestIDs: Set<String> = []
        for reference in references {
            if reference.hasPrefix("consent:"), let id = UUID(uuidString: String(reference.dropFirst(8))) {
                consentIDs.append(id)
            } else if reference.hasPrefix("auth:") {
                authIDs.append(String(reference.dropFirst(5)))
            } else if reference.hasPrefix("dsr:") {
                requestIDs.insert(String(reference.dropFirst(4)))
            }
        }
        var contents: [String: [Data]] = [:]
        for row in try await consentRows(consentIDs) {
            let id = row.id.lowercasedString
            contents["consent:" + id] = LedgerRecord.contents(
                row.ledgerFields, type: "consent", id: id, sealedIP: row.sourceIP, sealedAgent: row.userAgent)
        }
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
