import Consent
import Foundation
import Kernel
import SQLiteNIO

/// The consent group commit's steps on SQLite, whose write transactions already run one at a time.
struct SQLiteConsentWrites: ConsentWriteDialect {
    let database: SQLiteDatabaseFile
    let vault: PersonalDataVault

    func transaction<T: Sendable>(
        _ body: @escaping @Sendable (SQLiteConnection) async throws -> T
    ) async throws -> T {
        try await database.write(body)
    }

    /// A batch is several statements here, so it needs the transaction too.
    func statement<T: Sendable>(
        _ body: @escaping @Sendable (SQLiteConnection) async throws -> T
    ) async throws -> T {
        try await database.write(body)
    }

    func claim(
        _ claim: IdempotencyClaim, eventIDs: String, on connection: SQLiteConnection
    ) async throws -> ConsentGroupCommit.ClaimResult {
        let inserted = try await connection.query(
            """
            INSERT INTO idempotency_keys (scope, key, fingerprint, event_ids) VALUES (?, ?, ?, ?)
            ON CONFLICT DO NOTHING RETURNING 1 AS claimed
            """,
            [.text(claim.scope), .text(claim.key), .text(claim.fingerprint), .text(eventIDs)])
        if !inserted.isEmpty { return .claimed }
        let existing = try await connection.query(
            "SELECT fingerprint, event_ids FROM idempotency_keys WHERE scope = ? AND key = ?",
            [.text(claim.scope), .text(claim.key)])
        guard let row = existing.first else { throw StorageError.unavailable }
        guard try row.text("fingerprint") == claim.fingerprint else { return .mismatch }
        return .replay(AppendUnit.parseEventIDList(try row.text("event_ids")))
    }

    func insert(_ batch: AppendUnit.Batch, on connection: SQLiteConnection) async throws -> [Int64] {
        let executor = SQLiteDatabaseFile.Executor(connection: connection)
        let sequences = try await LedgerWriter.append(batch.records, executor)
        try await PersonalDataVault.insert(batch.keys, executor)
        for event in AppendUnit.sequenced(batch.sealed, sequences) { try await insert(event, on: connection) }
        return sequences
    }

    func events(ids: [UUID]) async throws -> [ConsentEvent] {
        try await StoredEventRow.events(try await storedRows(ids: ids).sorted { $0.sequence < $1.sequence }, vault)
    }

    /// The rows as stored, sealed fields sealed: what the ledger binds.
    func storedRows(ids: [UUID]) async throws -> [StoredEventRow] {
        guard !ids.isEmpty else { return [] }
        let placeholders = Array(repeating: "?", count: ids.count).joined(separator: ", ")
        return try await database.read(
            "SELECT \(SQLiteConsentRepository.eventColumns) FROM consent_events WHERE id IN (\(placeholders))",
            ids.map { .text($0.lowercasedString) }
        ).map { try $0.storedEvent() }
    }

    func storedRows(ledgerSequences: ClosedRange<Int64>) async throws -> [StoredEventRow] {
        try await database.read(
            "SELECT \(SQLiteConsentRepository.eventColumns) FROM consent_events WHERE ledger_seq BETWEEN ? AND ?",
            [.integer(Int(ledgerSequences.lowerBound)), .integer(Int(ledgerSequences.upperBound))]
        ).map { try $0.storedEvent() }
    }

    private func insert(_ event: ConsentEvent, on connection: SQLiteConnection) async throws {
        _ = try await connection.query(
            """
            INSERT INTO consent_events (id, subject_id, purpose_id, decision, notice_version, method, source_ip,
                user_agent, recorded_at, client_timestamp, ledger_seq)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                .text(event.id.lowercasedString), .text(event.subjectID.rawValue),
                .text(event.purposeID.rawValue),
                .text(event.decision.rawValue), .integer(event.noticeVersion), .text(event.method.rawValue),
                .optionalText(event.sourceIP), .optionalText(event.userAgent),
                .integer(Int(event.recordedAt.microsecondsSince1970)),
                event.clientTimestamp.map { .integer(Int($0.microsecondsSince1970)) } ?? .null,
                event.ledgerSequence.map { .integer(Int($0)) } ?? .null,
            ])
    }
}
