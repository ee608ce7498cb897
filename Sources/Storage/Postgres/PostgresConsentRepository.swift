import Consent
import Foundation
import Kernel
import Logging
import PQCrypto
import PostgresNIO
import Privacy
import Telemetry

struct PostgresConsentRepository: ConsentRepository {
    let client: PostgresClient
    let logger: Logger
    let vault: PersonalDataVault
    private let appends: WriteCoalescer<AppendUnit, AppendOutcome>

    init(client: PostgresClient, logger: Logger, vault: PersonalDataVault) {
        self.client = client
        self.logger = logger
        self.vault = vault
        self.appends = WriteCoalescer(
            maximumBatch: 512, isSystemic: PostgresErrors.isSystemic
        ) { [client, logger] units in
            try await Self.flush(units, client: client, logger: logger, vault: vault)
        }
    }

    private static let eventColumns = """
        seq, id, subject_id, purpose_id, decision, notice_version, method, source_ip, user_agent,
        (extract(epoch FROM recorded_at) * 1000000)::int8, (extract(epoch FROM client_timestamp) * 1000000)::int8,
        ledger_seq
        """

    /// Runs one database call under the request deadline, with driver errors translated.
    private func run<T: Sendable>(
        _ operation: String = #function, _ body: @escaping @Sendable (PostgresClient) async throws -> T
    ) async throws -> T {
        try await Traced.run("db.consent." + operation, kind: .client, ["db.system.name": "postgresql"]) {
            try await withDeadline(PostgresStore.requestDeadline) { [client] in
                do { return try await body(client) } catch { throw PostgresErrors.translate(error) }
            }
        }
    }

    // MARK: Purposes

    func allPurposes() async throws -> [Purpose] {
        try await run { [logger] client in
            var rows = StoredPurposeRows()
            for try await row in try await client.query(
                "SELECT id, title, description, sale_or_sharing, lawful_basis FROM purposes", logger: logger
            ).decode((String, String, String, Bool, String).self) {
                rows.purposes.append(row)
            }
            for try await row in try await client.query(
                """
                SELECT purpose_id, version, text, url, (extract(epoch FROM effective_at) * 1000000)::int8
                FROM purpose_notices
                """, logger: logger
            ).decode((String, Int, String?, String?, Int64).self) {
                rows.notices.append(row)
            }
            return try rows.purposeList()
        }
    }

    func insertPurpose(_ purpose: Purpose) async throws {
        try await run { [logger] client in
            do {
                try await client.withTransaction(logger: logger) { connection in
                    try await connection.query(
                        """
                        INSERT INTO purposes (id, title, description, sale_or_sharing, lawful_basis)
                        VALUES (\(purpose.id.rawValue), \(purpose.title), \(purpose.description), \(purpose.isSaleOrSharing),
                            \(purpose.lawfulBasis.rawValue))
                        """, logger: logger)
                    for notice in purpose.notices {
                        try await connection.query(
                            """
                            INSERT INTO purpose_notices (purpose_id, version, text, url, effective_at)
                            VALUES (\(purpose.id.rawValue), \(notice.version), \(notice.text), \(notice.url),
                                'epoch'::timestamptz + \(notice.effectiveAt.microsecondsSince1970) * interval '1 microsecond')
                            """, logger: logger)
                    }
                }
            } catch  where PostgresErrors.isUniqueViolation(error) {
                throw ConsentError.purposeExists(purpose.id)
            }
        }
    }

    func updatePurpose(
        id: PurposeID, title: String, description: String, isSaleOrSharing: Bool, lawfulBasis: LawfulBasis
    ) async throws {
        try await run { [logger] client in
            try await client.query(
                """
                UPDATE purposes SET title = \(title), description = \(description), sale_or_sharing = \(isSaleOrSharing),
                    lawful_basis = \(lawfulBasis.rawValue),
                    updated_at = now()
                WHERE id = \(id.rawValue)
                """, logger: logger)
        }
    }

    func appendNotice(purposeID: PurposeID, text: String?, url: String?, effectiveAt: Date) async throws -> Notice {
        try await run { [logger] client in
            // The row lock on the purpose serialises concurrent publishers, so versions never collide.
            try await client.withTransaction(logger: logger) { connection in
                try await connection.query(
                    "SELECT 1 FROM purposes WHERE id = \(purposeID.rawValue) FOR UPDATE", logger: logger)
                let rows = try await connection.query(
                    """
                    INSERT INTO purpose_notices (purpose_id, version, text, url, effective_at)
                    SELECT \(purposeID.rawValue), coalesce(max(version), 0) + 1, \(text), \(url),
                        'epoch'::timestamptz + \(effectiveAt.microsecondsSince1970) * interval '1 microsecond'
                    FROM purpose_notices WHERE purpose_id = \(purposeID.rawValue)
                    RETURNING version
                    """, logger: logger)
                var version = 0
                for try await value in rows.decode(Int.self) { version = value }
                return Notice(version: version, text: text, url: url, effectiveAt: effectiveAt)
            }
        }
    }

    // MARK: Events

    func append(_ events: [ConsentEvent], claim: IdempotencyClaim?) async throws -> AppendOutcome {
        // The span covers the wait for the group commit that carries these events.
        try await Traced.run("db.consent.append", kind: .client, ["db.system.name": "postgresql"]) {
            try await appends.submit(try AppendUnit(events: events, claim: claim, vault: vault))
        }
    }

    /// One group commit: claims first, then every new event in a single multi-row insert.
    private static func flush(
        _ units: [AppendUnit], client: PostgresClient, logger: Logger, vault: PersonalDataVault
    ) async throws
        -> [Result<AppendOutcome, any Error>]
    {
        try await withDeadline(PostgresStore.requestDeadline) {
            do {
                // Without idempotency claims the batch is one statement, atomic on its own: the events, their
                // ledger entries and the head's update, with no BEGIN and COMMIT round trips. The head's lock
                // is then held only while that statement runs and commits.
                if units.allSatisfy({ $0.claim == nil }) {
                    let batch = AppendUnit.Batch(units)
                    let (sequenced, keys) = try await client.withConnection { connection in
                        try await Self.insert(batch, on: connection, logger: logger)
                    }
                    vault.confirm(keys)
                    return Self.split(
                        sequenced, into: units.indices.map { ($0, units[$0].events.count) }, count: units.count
                    )
                    .map { $0! }
                }
                let (decided, replays, keys) = try await client.withTransaction(logger: logger) { connection in
                    var decided: [Result<AppendOutcome, any Error>?] = Array(repeating: nil, count: units.count)
                    var replays: [Int: [UUID]] = [:]
                    var fresh: [(index: Int, count: Int)] = []
                    for (index, unit) in units.enumerated() {
                        if let claim = unit.claim {
                            switch try await Self.claim(claim, for: unit, on: connection, logger: logger) {
                            case .claimed: break
                            case .replay(let ids):
                                replays[index] = ids
                                continue
                            case .mismatch:
                                decided[index] = .failure(ConsentError.idempotencyKeyReused)
                                continue
                            }
                        }
                        fresh.append((index, unit.events.count))
                    }
                    let (sequenced, keys) = try await Self.insert(
                        AppendUnit.Batch(fresh.map { units[$0.index] }), on: connection, logger: logger)
                    for (index, result) in Self.split(sequenced, into: fresh, count: units.count).enumerated()
                    where result != nil {
                        decided[index] = result
                    }
                    return (decided, replays, keys)
                }
                vault.confirm(keys)
                var results = decided
                for (index, ids) in replays {
                    results[index] = .success(
                        .replayed(try await Self.events(ids: ids, client: client, logger: logger, vault: vault)))
                }
                return results.map { $0! }
            } catch {
                throw PostgresErrors.translate(error)
            }
        }
    }

    private enum ClaimResult { case claimed, replay([UUID]), mismatch }

    private static func claim(
        _ claim: IdempotencyClaim, for unit: AppendUnit, on connection: PostgresConnection, logger: Logger
    ) async throws -> ClaimResult {
        let inserted = try await connection.query(
            """
            INSERT INTO idempotency_keys (scope, key, fingerprint, event_ids)
            VALUES (\(claim.scope), \(claim.key), \(claim.fingerprint), \(unit.eventIDList))
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

    /// Hands each unit its slice of the sequenced events.
    private static func split(
        _ sequenced: [ConsentEvent], into parts: [(index: Int, count: Int)], count: Int
    ) -> [Result<AppendOutcome, any Error>?] {
        var results: [Result<AppendOutcome, any Error>?] = Array(repeating: nil, count: count)
        var offset = 0
        for (index, length) in parts {
            results[index] = .success(.recorded(Array(sequenced[offset..<offset + length])))
            offset += length
        }
        return results
    }

    /// Inserts the events and their ledger entries in one statement; returns the events with their
    /// ledger sequences.
    private static func insert(
        _ batch: AppendUnit.Batch, on connection: PostgresConnection, logger: Logger
    ) async throws
        -> (events: [ConsentEvent], keys: [PersonalDataVault.KeyRow])
    {
        guard !batch.events.isEmpty else { return ([], []) }
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
        guard sequences.count == events.count else { throw StorageError.corrupted("ledger append") }
        return (AppendUnit.sequenced(batch.events, sequences), keys)
    }

    private static func events(
        ids: [UUID], client: PostgresClient, logger: Logger, vault: PersonalDataVault
    ) async throws
        -> [ConsentEvent]
    {
        let rows = try await collect(
            await client.query(
                "SELECT \(unescaped: eventColumns) FROM consent_events WHERE id = ANY(\(ids)) ORDER BY seq",
                logger: logger))
        return try await StoredEventRow.events(rows, vault)
    }

    func latestEvents(subjectID: SubjectID) async throws -> [ConsentEvent] {
        try await run { [logger, vault] client in
            try await StoredEventRow.events(
                try await Self.collect(
                    await client.query(
                        """
                        SELECT \(unescaped: Self.eventColumns) FROM consent_events WHERE seq IN (
                            SELECT (SELECT max(seq) FROM consent_events e WHERE e.subject_id = \(subjectID.rawValue)
                                AND e.purpose_id = p.id)
                            FROM purposes p)
                        ORDER BY seq
                        """, logger: logger)
                ), vault)
        }
    }

    func event(id: UUID) async throws -> ConsentEvent? {
        try await run { [logger, vault] client in
            try await Self.events(ids: [id], client: client, logger: logger, vault: vault).first
        }
    }

    func history(subjectID: SubjectID, after cursor: HistoryCursor?, limit: Int) async throws -> HistoryPage {
        try await run { [logger, vault] client in
            let rows = try await Self.collect(
                await client.query(
                    """
                    SELECT \(unescaped: Self.eventColumns) FROM consent_events
                    WHERE subject_id = \(subjectID.rawValue) AND seq < \(cursor?.sequence ?? Int64.max)
                    ORDER BY seq DESC LIMIT \(limit + 1)
                    """, logger: logger))
            return try await StoredEventRow.page(rows, limit: limit, vault: vault)
        }
    }

    func ping() async throws {
        try await run { [logger] client in _ = try await client.query("SELECT 1", logger: logger).collect() }
    }

    private static func collect(
        _ query: @autoclosure () async throws -> PostgresRowSequence
    ) async throws
        -> [StoredEventRow]
    {
        var rows: [StoredEventRow] = []
        for try await row in try await query().decode(
            (Int64, UUID, String, String, String, Int, String, String?, String?, Int64, Int64?, Int64?).self)
        {
            rows.append(
                StoredEventRow(
                    sequence: row.0, id: row.1, subjectID: row.2, purposeID: row.3, decision: row.4,
                    noticeVersion: row.5, method: row.6, sourceIP: row.7, userAgent: row.8,
                    recordedAtMicros: row.9, clientTimestampMicros: row.10, ledgerSequence: row.11))
        }
        return rows
    }
}
