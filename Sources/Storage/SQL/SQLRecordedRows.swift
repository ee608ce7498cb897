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

    func match(_ entries: ArraySlice<LedgerEntry>) async throws -> [RowMatch] {
        let entries = Array(entries)
        var consent: [Int] = []
        var other: [Int] = []
        var authIDs: [String] = []
        var requestIDs: Set<String> = []
        consent.reserveCapacity(entries.count)
        for index in entries.indices {
            let reference = entries[index].reference.utf8
            if reference.starts(with: "consent:".utf8) {
                consent.append(index)
            } else if reference.starts(with: "auth:".utf8) {
                authIDs.append(String(Substring(reference.dropFirst(5))))
                other.append(index)
            } else if reference.starts(with: "dsr:".utf8) {
                requestIDs.insert(String(Substring(reference.dropFirst(4))))
                other.append(index)
            }
        }
        var matches = try await consentMatches(entries, consent)
        var contents: [String: [Data]] = [:]
        try await addTransitions(of: Array(requestIDs), to: &contents)
        try await addAuthEvents(authIDs, to: &contents)
        for index in other {
            guard let forms = contents[entries[index].reference] else {
                matches[index] = .absent
                continue
            }
            matches[index] = forms.contains(entries[index].content) ? .matches : .differs
        }
        return matches
    }

    private func addAuthEvents(_ ids: [String], to contents: inout [String: [Data]]) async throws {
        guard !ids.isEmpty else { return }
        let placeholders = (1...ids.count).map { "$\($0)" }.joined(separator: ", ")
        for row in try await database.select(
            """
            SELECT id, kind, occurred_at, user_id, session_id, ip_address, user_agent, details FROM auth_events
            WHERE id IN (\(placeholders))
            """, ids.map(SQLValue.text))
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
    }

    /// Of every entry, `.unbound` but for those at `consent`. The consent rows are read by the range of
    /// entries they claim, which is every row of an untouched ledger; the few found elsewhere are looked
    /// up by id. The form from before sealed fields were bound is built only for a row whose current
    /// form differs from its entry.
    private func consentMatches(_ entries: [LedgerEntry], _ consent: [Int]) async throws -> [RowMatch] {
        var matches = [RowMatch](repeating: .unbound, count: entries.count)
        guard let first = consent.first.map({ entries[$0].sequence }),
            let last = consent.last.map({ entries[$0].sequence })
        else { return matches }
        // By the entry each claims, in place: the rows read are those claiming an entry in the range.
        let (low, high) = (min(first, last), max(first, last))
        var claiming = [(id: String, row: StoredEventRow)?](repeating: nil, count: Int(high - low) + 1)
        var others: [String: StoredEventRow] = [:]
        for row in try await consentRows.storedRows(ledgerSequences: low...high) {
            // Two rows that claim one entry: the second is found by its id.
            if let sequence = row.ledgerSequence, (low...high).contains(sequence),
                claiming[Int(sequence - low)] == nil
            {
                claiming[Int(sequence - low)] = (row.id.lowercasedString, row)
            } else {
                others[row.id.lowercasedString] = row
            }
        }
        /// The row the entry's reference names, if it was read.
        func row(of index: Int) -> (id: String, row: StoredEventRow)? {
            let reference = entries[index].reference
            let sequence = entries[index].sequence
            if (low...high).contains(sequence), let claimed = claiming[Int(sequence - low)],
                Self.reference(reference, names: claimed.id)
            {
                return claimed
            }
            return others[String(reference.dropFirst(8))].map { ($0.id.lowercasedString, $0) }
        }
        let elsewhere = consent.compactMap { index in
            row(of: index) == nil ? UUID(uuidString: String(entries[index].reference.dropFirst(8))) : nil
        }
        if !elsewhere.isEmpty {
            for row in try await consentRows.storedRows(ids: elsewhere) { others[row.id.lowercasedString] = row }
        }
        for index in consent {
            guard let (id, row) = row(of: index) else {
                matches[index] = .absent
                continue
            }
            // A row that names another entry as its own no longer matches this one.
            if let sequence = row.ledgerSequence, sequence != entries[index].sequence {
                matches[index] = .differs
                continue
            }
            let content = entries[index].content
            let matching =
                LedgerRecord.consentContent(row, id: id, is: content)
                || LedgerRecord.contents(
                    row.ledgerFields, type: "consent", id: id, sealedIP: row.sourceIP, sealedAgent: row.userAgent
                ).contains(content)
            matches[index] = matching ? .matches : .differs
        }
        return matches
    }

    /// Whether `reference` is `consent:` followed by exactly `id`, compared as bytes.
    private static func reference(_ reference: String, names id: String) -> Bool {
        let (reference, id) = (reference.utf8, id.utf8)
        guard reference.count == id.count + 8 else { return false }
        let compared = reference.withContiguousStorageIfAvailable { reference in
            id.withContiguousStorageIfAvailable { id in
                memcmp(reference.baseAddress! + 8, id.baseAddress!, id.count) == 0
            }
        }
        return (compared ?? nil) ?? reference.dropFirst(8).elementsEqual(id)
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
