import Consent
import Foundation
import Kernel
import PQCrypto
import Privacy

/// A consent event as both backends store it: plain columns, timestamps in microseconds.
struct StoredEventRow: Sendable {
    var sequence: Int64
    var id: UUID
    var subjectID: String
    var purposeID: String
    var decision: String
    var noticeVersion: Int
    var method: String
    var sourceIP: String?
    var userAgent: String?
    var recordedAtMicros: Int64
    var clientTimestampMicros: Int64?
    var ledgerSequence: Int64?

    /// The event, with its address and agent opened; nil where the subject's keys are destroyed.
    func event(_ vault: PersonalDataVault) async throws -> ConsentEvent {
        var row = self
        row.sourceIP = try await vault.open(sourceIP, subject: subjectID, field: "ip")
        row.userAgent = try await vault.open(userAgent, subject: subjectID, field: "user_agent")
        return try row.event()
    }

    private func event() throws -> ConsentEvent {
        guard let decision = Decision(rawValue: decision), let method = ConsentMethod(rawValue: method),
            let subjectID = try? SubjectID(validating: subjectID), let purposeID = try? PurposeID(validating: purposeID)
        else { throw StorageError.corrupted("consent event \(sequence)") }
        return ConsentEvent(
            id: id, subjectID: subjectID, purposeID: purposeID, decision: decision, noticeVersion: noticeVersion,
            method: method, sourceIP: sourceIP, userAgent: userAgent,
            recordedAt: Date(microsecondsSince1970: recordedAtMicros),
            clientTimestamp: clientTimestampMicros.map(Date.init(microsecondsSince1970:)),
            ledgerSequence: ledgerSequence)
    }

    static func page(_ rows: [StoredEventRow], limit: Int, vault: PersonalDataVault) async throws -> HistoryPage {
        let visible = rows.prefix(limit)
        let next = rows.count > limit ? visible.last.map { HistoryCursor(sequence: $0.sequence) } : nil
        return HistoryPage(events: try await events(Array(visible), vault), next: next)
    }

    static func events(_ rows: [StoredEventRow], _ vault: PersonalDataVault) async throws -> [ConsentEvent] {
        var events: [ConsentEvent] = []
        events.reserveCapacity(rows.count)
        for row in rows { events.append(try await row.event(vault)) }
        return events
    }
}

/// A write waiting for the next group commit, prepared by its caller (sealed, and described for the
/// ledger) so that the one flushing task does only database work.
struct AppendUnit: Sendable {
    var events: [ConsentEvent]
    var claim: IdempotencyClaim?
    /// The events as stored: address and agent sealed for their subject.
    var sealed: [ConsentEvent]
    /// Data keys the sealed events need stored.
    var keys: [PersonalDataVault.KeyRow]
    var records: [LedgerRecord]

    init(events: [ConsentEvent], claim: IdempotencyClaim?, vault: PersonalDataVault) throws {
        self.events = events
        self.claim = claim
        var keys: [PersonalDataVault.KeyRow] = []
        self.sealed = try events.map { event in
            var event = event
            let ip = try vault.seal(event.sourceIP, subject: event.subjectID.rawValue, field: "ip")
            let agent = try vault.seal(event.userAgent, subject: event.subjectID.rawValue, field: "user_agent")
            event.sourceIP = ip.sealed
            event.userAgent = agent.sealed
            keys += [ip.newKey, agent.newKey].compactMap { $0 }
            return event
        }
        var seen = Set<UUID>()
        self.keys = keys.filter { seen.insert($0.id).inserted }
        self.records = zip(events, sealed).map { event, stored in
            LedgerRecord(consent: event, sealedIP: stored.sourceIP, sealedAgent: stored.userAgent)
        }
    }

    /// Several units' new events as one write.
    struct Batch {
        var events: [ConsentEvent] = []
        var sealed: [ConsentEvent] = []
        var keys: [PersonalDataVault.KeyRow] = []
        var records: [LedgerRecord] = []

        init(_ units: some Sequence<AppendUnit>) {
            var seen = Set<UUID>()
            for unit in units {
                events += unit.events
                sealed += unit.sealed
                records += unit.records
                keys += unit.keys.filter { seen.insert($0.id).inserted }
            }
        }

        var wrappings: [PersonalDataVault.WrappingRow] {
            var seen = Set<UUID>()
            return keys.compactMap(\.wrapping).filter { seen.insert($0.id).inserted }
        }
    }

    /// Gives the events their ledger sequences, in order, and returns them.
    static func sequenced(_ events: [ConsentEvent], _ sequences: [Int64]) -> [ConsentEvent] {
        zip(events, sequences).map { event, sequence in
            var event = event
            event.ledgerSequence = sequence
            return event
        }
    }

    /// The ids as the idempotency record keeps them.
    var eventIDList: String { events.map(\.id.lowercasedString).joined(separator: ",") }

    static func parseEventIDList(_ text: String) -> [UUID] {
        text.split(separator: ",").compactMap { UUID(uuidString: String($0)) }
    }
}

/// Builds purposes from their rows and their notices' rows.
struct StoredPurposeRows {
    var purposes: [(id: String, title: String, description: String, saleOrSharing: Bool, lawfulBasis: String)] = []
    var notices: [(purposeID: String, version: Int, text: String?, url: String?, effectiveAtMicros: Int64)] = []

    func purposeList() throws -> [Purpose] {
        let noticesByPurpose = Dictionary(grouping: notices, by: \.purposeID)
        return try purposes.map { row in
            guard let id = try? PurposeID(validating: row.id), let notices = noticesByPurpose[row.id], !notices.isEmpty
            else { throw StorageError.corrupted("purpose \(row.id)") }
            return Purpose(
                id: id, title: row.title, description: row.description, isSaleOrSharing: row.saleOrSharing,
                lawfulBasis: LawfulBasis(rawValue: row.lawfulBasis) ?? .consent,
                notices: notices.map {
                    Notice(
                        version: $0.version, text: $0.text, url: $0.url,
                        effectiveAt: Date(microsecondsSince1970: $0.effectiveAtMicros))
                })
        }
    }
}
