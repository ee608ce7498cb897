import Consent
import Foundation
import Kernel
import Logging
import PostgresNIO

/// The consent group commit's steps on PostgreSQL: arrays bound whole, so a batch is one statement.
struct PostgresConsentWrites: ConsentWriteDialect {
    let client: PostgresClient
    let logger: Logger
    let vault: PersonalDataVault

    func transaction<T: Sendable>(
        _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        try await translated { [client, logger] in
            try await client.withTransaction(logger: logger) { connection in try await body(connection) }
        }
    }

    func statement<T: Sendable>(
        _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        try await translated { [client] in
            try await client.withConnection { connection in try await body(connection) }
        }
    }

    private func translated<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
        try await withDeadline(PostgresStore.requestDeadline) {
            do { return try await body() } catch { throw PostgresErrors.translate(error) }
        }
    }

    func claim(
        _ claim: IdempotencyClaim, eventIDs: String, on connection: PostgresConnection
    ) async throws -> ConsentGroupCommit.ClaimResult {
        let inserted = try await connection.query(
            """
            INSERT INTO idempotency_keys (scope, key, fingerprint, event_ids)
            VALUES (\(claim.scope), \(claim.key), \(claim.fingerprint), \(eventIDs))
            ON CONFLICT DO NOTHING RETURNING 1
            """, logger: logger
        ).collect()
        if !inserted.isEmpty { return .claimed }
        let existing = try await connection.query(
            "SELECT fingerprint, event_ids FROM idempotency_keys WHERE scope = \(claim.scope) AND key = \(claim.key)",
            logger: logger
        ).collect()
        guard let row = existing.first else { throw StorageError.unavailable }
        let (fingerprint, ids) = try row.decode((String, String).self)
        guard fingerprint == claim.fingerprint else { return .mismatch }
        return .replay(AppendUnit.parseEventIDList(ids))
    }

    /// The rows as stored, sealed fields sealed: what the ledger binds.
    func storedRows(ids: [UUID]) async throws -> [StoredEventRow] {
        try await translated { [client, logger] in
            try await PostgresConsentRepository.collect(
                await client.query(
                    """
                    SELECT \(unescaped: PostgresConsentRepository.eventColumns) FROM consent_events
                    WHERE id = ANY(\(ids))
                    """, logger: logger))
        }
    }

    func storedRows(ledgerSequences: ClosedRange<Int64>) async throws -> [StoredEventRow] {
        let (first, last) = (ledgerSequences.lowerBound, ledgerSequences.upperBound)
        return try await translated { [client, logger] in
            try await PostgresConsentRepository.collect(
                await client.query(
                    """
                    SELECT \(unescaped: PostgresConsentRepository.eventColumns) FROM consent_events
                    WHERE ledger_seq BETWEEN \(first) AND \(last)
                    """, logger: logger))
        }
    }

    func events(ids: [UUID]) async throws -> [ConsentEvent] {
        try await translated { [client, logger, vault] in
            try await PostgresConsentRepository.events(ids: ids, client: client, logger: logger, vault: vault)
        }
    }

    /// The data keys, the ledger entries and the events in one statement.
    func insert(_ batch: AppendUnit.Batch, on connection: PostgresConnection) async throws -> [Int64] {
        let (events, keys, records, wrappings) = (batch.sealed, batch.keys, batch.records, batch.wrappings)
        let rows = try await connection.query(
            """
            WITH wrapping AS (
                INSERT INTO wrapping_keys (id, sealed, kek, created_at)
                SELECT * FROM unnest(\(wrappings.map { $0.id.lowercasedString })::text[],
                    \(wrappings.map { ByteBuffer(bytes: $0.sealed) })::bytea[], \(wrappings.map(\.kek))::text[],
                    \(wrappings.map(\.createdAt.microsecondsSince1970))::int8[])
                ON CONFLICT (id) DO NOTHING
            ), keys AS (
                INSERT INTO subject_keys (id, subject_id, wrapped, wrapping_key_id, created_at)
                SELECT * FROM unnest(\(keys.map { $0.id.lowercasedString })::text[], \(keys.map(\.subject))::text[],
                    \(keys.map { ByteBuffer(bytes: $0.wrapped) })::bytea[],
                    \(keys.map { $0.wrappingKeyID.lowercasedString })::text[],
                    \(keys.map(\.createdAt.microsecondsSince1970))::int8[])
                    AS k(id, subject_id, wrapped, wrapping_key_id, created_at)
                WHERE NOT EXISTS (SELECT 1 FROM erased_subjects e WHERE e.subject_id = k.subject_id)
                ON CONFLICT (id) DO NOTHING
            ), appended AS (
                SELECT entry_ord, entry_seq
                FROM ledger_append(\(records.map(\.reference))::text[], \(records.map { ByteBuffer(bytes: $0.content) })::bytea[])
            ), inserted AS (
                INSERT INTO consent_events (id, subject_id, purpose_id, decision, notice_version, method, source_ip,
                    user_agent, recorded_at, client_timestamp, ledger_seq)
                SELECT u.id, u.subject, u.purpose, u.decision, u.version, u.method, nullif(u.ip, ''), nullif(u.agent, ''),
                    'epoch'::timestamptz + u.recorded * interval '1 microsecond',
                    CASE WHEN u.has_client THEN 'epoch'::timestamptz + u.client * interval '1 microsecond' END,
                    a.entry_seq
                FROM unnest(\(events.map(\.id))::uuid[], \(events.map(\.subjectID.rawValue))::text[],
                    \(events.map(\.purposeID.rawValue))::text[], \(events.map(\.decision.rawValue))::text[],
                    \(events.map { Int32($0.noticeVersion) })::int4[], \(events.map(\.method.rawValue))::text[],
                    \(events.map { $0.sourceIP ?? "" })::text[], \(events.map { $0.userAgent ?? "" })::text[],
                    \(events.map(\.recordedAt.microsecondsSince1970))::int8[],
                    \(events.map { $0.clientTimestamp != nil })::bool[],
                    \(events.map { $0.clientTimestamp?.microsecondsSince1970 ?? 0 })::int8[])
                    WITH ORDINALITY AS u(id, subject, purpose, decision, version, method, ip, agent, recorded, has_client,
                        client, position)
                JOIN appended a ON a.entry_ord = u.position
                ORDER BY u.position
                RETURNING ledger_seq
            )
            SELECT ledger_seq FROM inserted ORDER BY ledger_seq
            """, logger: logger)
        var sequences: [Int64] = []
        for try await sequence in rows.decode(Int64.self) { sequences.append(sequence) }
        return sequences
    }

}
