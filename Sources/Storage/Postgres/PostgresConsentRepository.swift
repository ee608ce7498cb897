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
            try await ConsentGroupCommit.flush(
                units, dialect: PostgresConsentWrites(client: client, logger: logger, vault: vault), vault: vault)
        }
    }

    static let eventColumns = """
        seq, id, subject_id, purpose_id, decision, notice_version, method, source_ip, user_agent, recorded_at,
        client_timestamp, ledger_seq
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
                let notice = Notice(version: version, text: text, url: url, effectiveAt: effectiveAt)
                _ = try await PostgresSQLDatabase.Executor(connection: connection, logger: logger).appendLedger([
                    LedgerRecord(notice: notice, of: purposeID, publishedAt: Date())
                ])
                return notice
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

    static func events(
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

    static func collect(
        _ query: @autoclosure () async throws -> PostgresRowSequence
    ) async throws
        -> [StoredEventRow]
    {
        var rows: [StoredEventRow] = []
        // Cell by cell: decoding a row as one tuple of twelve looked up the tuple's type for each row.
        for try await row in try await query() {
            var cells = row.makeIterator()
            func next<Value: PostgresDecodable>(_: Value.Type = Value.self) throws -> Value {
                guard let cell = cells.next() else { throw StorageError.corrupted("consent event row") }
                return try cell.decode(Value.self)
            }
            rows.append(
                StoredEventRow(
                    sequence: try next(), id: try next(), subjectID: try next(), purposeID: try next(),
                    decision: try next(), noticeVersion: try next(), method: try next(), sourceIP: try next(),
                    userAgent: try next(), recordedAtMicros: try next(PostgresMicroseconds.self).value,
                    clientTimestampMicros: try next(PostgresMicroseconds?.self)?.value, ledgerSequence: try next()))
        }
        return rows
    }
}
