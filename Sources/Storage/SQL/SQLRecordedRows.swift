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

    /// An entry is bound by its reference's type, the bytes before its first `:` (all of it when there
    /// is none), as ``RowBinding`` reads it: a bound type with no id, or with an id no row has, is absent.
    func match(_ entries: ArraySlice<LedgerEntry>) async throws -> [RowMatch] {
        let entries = Array(entries)
        var consent: [(index: Int, id: NamedID)] = []
        var other: [Int] = []
        var authIDs: [String] = []
        var requestIDs: Set<String> = []
        consent.reserveCapacity(entries.count)
        for index in entries.indices {
            let reference = entries[index].reference.utf8
            let colon = reference.firstIndex(of: UInt8(ascii: ":"))
            let type = reference[..<(colon ?? reference.endIndex)]
            let id = NamedID(
                reference: entries[index].reference,
                offset: colon.map { reference.distance(from: reference.startIndex, to: $0) + 1 } ?? reference.count)
            if type.elementsEqual("consent".utf8) {
                consent.append((index, id))
            } else if type.elementsEqual("auth".utf8) {
                authIDs.append(id.text)
                other.append(index)
            } else if type.elementsEqual("dsr".utf8) {
                requestIDs.insert(id.text)
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

    /// Of every entry, `.unbound` but for those at `consent`, each with the id its reference names. The
    /// consent rows are read by the range of entries they claim, which is every row of an untouched
    /// ledger, and placed by the entry they claim; the few found elsewhere are looked up by id, and so
    /// is every row when the entries' sequences are too sparse for a range to be worth reading. The
    /// form from before sealed fields were bound is built only for a row whose current form differs
    /// from its entry.
    private func consentMatches(
        _ entries: [LedgerEntry], _ consent: [(index: Int, id: NamedID)]
    ) async throws -> [RowMatch] {
        var matches = [RowMatch](repeating: .unbound, count: entries.count)
        guard let first = consent.first.map({ entries[$0.index].sequence }),
            let last = consent.last.map({ entries[$0.index].sequence })
        else { return matches }
        let (low, high) = (min(first, last), max(first, last))
        // A range no longer than twice the entries: a gap an insider opens in the sequences must not make
        // the range, or the array placed by it, as large as they like.
        let byRange = high - low < 2 * Int64(consent.count)
        var claiming = [(id: String, row: StoredEventRow)?](repeating: nil, count: byRange ? Int(high - low) + 1 : 0)
        var others: [String: StoredEventRow] = [:]
        if byRange {
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
        }
        /// The row the entry's reference names, if it was read.
        func row(of entry: (index: Int, id: NamedID)) -> (id: String, row: StoredEventRow)? {
            let sequence = entries[entry.index].sequence
            if byRange, (low...high).contains(sequence), let claimed = claiming[Int(sequence - low)],
                entry.id.names(claimed.id)
            {
                return claimed
            }
            guard !others.isEmpty, let row = others[entry.id.text], entry.id.names(row.id.lowercasedString) else {
                return nil
            }
            return (row.id.lowercasedString, row)
        }
        let elsewhere = consent.compactMap { entry in row(of: entry) == nil ? UUID(uuidString: entry.id.text) : nil }
        if !elsewhere.isEmpty {
            for row in try await consentRows.storedRows(ids: elsewhere) { others[row.id.lowercasedString] = row }
        }
        for entry in consent {
            guard let (id, row) = row(of: entry) else {
                matches[entry.index] = .absent
                continue
            }
            // A row that names another entry as its own no longer matches this one.
            if let sequence = row.ledgerSequence, sequence != entries[entry.index].sequence {
                matches[entry.index] = .differs
                continue
            }
            let content = entries[entry.index].content
            let matching =
                LedgerRecord.consentContent(row, id: id, is: content)
                || LedgerRecord.contents(
                    row.ledgerFields, type: "consent", id: id, sealedIP: row.sourceIP, sealedAgent: row.userAgent
                ).contains(content)
            matches[entry.index] = matching ? .matches : .differs
        }
        return matches
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

/// The id a reference names: its bytes after the first `:`, compared byte for byte (`String`'s `==`
/// compares canonical equivalents, which a reference must not get away with) and without being copied
/// out, since verification compares one for every consent entry.
struct NamedID {
    let reference: String
    /// Where the id starts, in UTF-8 bytes: the reference's length when it has no `:`.
    let offset: Int

    var text: String { String(decoding: reference.utf8.dropFirst(offset), as: UTF8.self) }

    func names(_ id: String) -> Bool {
        let (reference, id) = (reference.utf8, id.utf8)
        guard reference.count - offset == id.count else { return false }
        guard !id.isEmpty else { return true }
        let compared = reference.withContiguousStorageIfAvailable { reference in
            id.withContiguousStorageIfAvailable { id in
                memcmp(reference.baseAddress! + offset, id.baseAddress!, id.count) == 0
            }
        }
        return (compared ?? nil) ?? reference.dropFirst(offset).elementsEqual(id)
    }
}
