import Consent
import Foundation
import Kernel
import PQCrypto
import Privacy
import SQLiteNIO
import Telemetry

struct SQLiteConsentRepository: ConsentRepository {
    let database: SQLiteDatabaseFile
    let vault: PersonalDataVault
    private let appends: WriteCoalescer<AppendUnit, AppendOutcome>

    init(database: SQLiteDatabaseFile, vault: PersonalDataVault) {
        self.database = database
        self.vault = vault
        self.appends = WriteCoalescer(
            maximumBatch: 512,
            isSystemic: { ($0 as? StorageError)?.isUnavailable ?? false }
        ) { units in
            try await ConsentGroupCommit.flush(
                units, dialect: SQLiteConsentWrites(database: database, vault: vault), vault: vault)
        }
    }

    static let eventColumns = """
        seq, id, subject_id, purpose_id, decision, notice_version, method, source_ip, user_agent, recorded_at,
        client_timestamp, ledger_seq
        """

    // MARK: Purposes

    func allPurposes() async throws -> [Purpose] {
        var rows = StoredPurposeRows()
        for row in try await database.read(
            "SELECT id, title, description, sale_or_sharing, lawful_basis FROM purposes")
        {
            rows.purposes.append(
                (
                    try row.text("id"), try row.text("title"), try row.text("description"),
                    try row.integer("sale_or_sharing") == 1, try row.text("lawful_basis")
                ))
        }
        for row in try await database.read("SELECT purpose_id, version, text, url, effective_at FROM purpose_notices") {
            rows.notices.append(
                (
                    try row.text("purpose_id"), Int(try row.integer("version")), row.optionalText("text"),
                    row.optionalText("url"), try row.integer("effective_at")
                ))
        }
        return try rows.purposeList()
    }

    func insertPurpose(_ purpose: Purpose) async throws {
        do {
            try await database.write { connection in
                _ = try await connection.query(
                    "INSERT INTO purposes (id, title, description, sale_or_sharing, lawful_basis) VALUES (?, ?, ?, ?, ?)",
                    [
                        .text(purpose.id.rawValue), .text(purpose.title), .text(purpose.description),
                        .integer(purpose.isSaleOrSharing ? 1 : 0), .text(purpose.lawfulBasis.rawValue),
                    ])
                for notice in purpose.notices {
                    _ = try await connection.query(
                        "INSERT INTO purpose_notices (purpose_id, version, text, url, effective_at) VALUES (?, ?, ?, ?, ?)",
                        [
                            .text(purpose.id.rawValue), .integer(notice.version), .optionalText(notice.text),
                            .optionalText(notice.url), .integer(Int(notice.effectiveAt.microsecondsSince1970)),
                        ])
                }
            }
        } catch  where SQLiteDatabaseFile.isUniqueViolation(error) {
            throw ConsentError.purposeExists(purpose.id)
        }
    }

    func updatePurpose(
        id: PurposeID, title: String, description: String, isSaleOrSharing: Bool, lawfulBasis: LawfulBasis
    ) async throws {
        try await database.write { connection in
            _ = try await connection.query(
                """
                UPDATE purposes SET title = ?, description = ?, sale_or_sharing = ?, lawful_basis = ?,
                    updated_at = CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)
                WHERE id = ?
                """,
                [
                    .text(title), .text(description), .integer(isSaleOrSharing ? 1 : 0), .text(lawfulBasis.rawValue),
                    .text(id.rawValue),
                ])
        }
    }

    func appendNotice(purposeID: PurposeID, text: String?, url: String?, effectiveAt: Date) async throws -> Notice {
        try await database.write { connection in
            let rows = try await connection.query(
                """
                INSERT INTO purpose_notices (purpose_id, version, text, url, effective_at)
                SELECT ?1, coalesce(max(version), 0) + 1, ?2, ?3, ?4 FROM purpose_notices WHERE purpose_id = ?1
                RETURNING version
                """,
                [
                    .text(purposeID.rawValue), .optionalText(text), .optionalText(url),
                    .integer(Int(effectiveAt.microsecondsSince1970)),
                ])
            let notice = Notice(
                version: Int(try rows.first?.integer("version") ?? 0), text: text, url: url, effectiveAt: effectiveAt)
            _ = try await LedgerWriter.append(
                [LedgerRecord(notice: notice, of: purposeID, publishedAt: Date())],
                SQLiteDatabaseFile.Executor(connection: connection))
            return notice
        }
    }

    // MARK: Events

    func append(_ events: [ConsentEvent], claim: IdempotencyClaim?) async throws -> AppendOutcome {
        // The span covers the wait for the group commit that carries these events.
        try await Traced.run("db.consent.append", kind: .client, ["db.system.name": "sqlite"]) {
            try await appends.submit(try AppendUnit(events: events, claim: claim, vault: vault))
        }
    }

    func latestEvents(subjectID: SubjectID) async throws -> [ConsentEvent] {
        try await StoredEventRow.events(
            try await database.read(
                """
                SELECT \(Self.eventColumns) FROM consent_events WHERE seq IN (
                    SELECT (SELECT max(seq) FROM consent_events e WHERE e.subject_id = ?1 AND e.purpose_id = p.id)
                    FROM purposes p)
                ORDER BY seq
                """, [.text(subjectID.rawValue)]
            ).map { try $0.storedEvent() }, vault)
    }

    func event(id: UUID) async throws -> ConsentEvent? {
        try await database.read(
            "SELECT \(Self.eventColumns) FROM consent_events WHERE id = ?", [.text(id.lowercasedString)]
        ).first?.storedEvent().event(vault)
    }

    func history(subjectID: SubjectID, after cursor: HistoryCursor?, limit: Int) async throws -> HistoryPage {
        let rows = try await database.read(
            """
            SELECT \(Self.eventColumns) FROM consent_events WHERE subject_id = ? AND seq < ?
            ORDER BY seq DESC LIMIT ?
            """, [.text(subjectID.rawValue), .integer(Int(cursor?.sequence ?? Int64.max)), .integer(limit + 1)])
        return try await StoredEventRow.page(try rows.map { try $0.storedEvent() }, limit: limit, vault: vault)
    }

    func ping() async throws {
        _ = try await database.read("SELECT 1")
    }
}

extension SQLiteData {
    static func optionalText(_ value: String?) -> SQLiteData { value.map { .text($0) } ?? .null }
}

extension SQLiteRow {
    func text(_ column: String) throws -> String {
        guard let value = self.column(column)?.string else { throw StorageError.corrupted("column \(column)") }
        return value
    }

    func optionalText(_ column: String) -> String? {
        guard let value = self.column(column), value != .null else { return nil }
        return value.string
    }

    func integer(_ column: String) throws -> Int64 {
        guard let value = self.column(column)?.integer else { throw StorageError.corrupted("column \(column)") }
        return Int64(value)
    }

    func storedEvent() throws -> StoredEventRow {
        guard let id = UUID(uuidString: try text("id")) else { throw StorageError.corrupted("event id") }
        let clientTimestamp = self.column("client_timestamp").flatMap { $0 == .null ? nil : $0.integer }
        return StoredEventRow(
            sequence: try integer("seq"), id: id, subjectID: try text("subject_id"), purposeID: try text("purpose_id"),
            decision: try text("decision"), noticeVersion: Int(try integer("notice_version")),
            method: try text("method"),
            sourceIP: optionalText("source_ip"), userAgent: optionalText("user_agent"),
            recordedAtMicros: try integer("recorded_at"), clientTimestampMicros: clientTimestamp.map { Int64($0) },
            ledgerSequence: self.column("ledger_seq").flatMap { $0 == .null ? nil : $0.integer }.map { Int64($0) })
    }
}
