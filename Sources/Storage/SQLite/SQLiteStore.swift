import Consent
import Foundation
import Identity
import Logging
import Outbox
import PQCrypto
import Privacy
import SQLiteNIO
import ServiceLifecycle
import Valuation

/// The embedded default: one SQLite file in WAL mode with full synchronous commits, so an
/// acknowledged write survives a crash or power loss. One connection writes; one reads.
final class SQLiteStore: Store {
    let database: SQLiteDatabaseFile
    let consents: any ConsentRepository
    let identity: any IdentityRepository
    let privacy: any PrivacyRepository
    let ledger: any LedgerRepository
    let valuation: any ValuationRepository
    let erasures: any ErasureRepository
    let retention: any RetentionRepository
    let mailOutbox: any MailOutboxRepository
    let webhooks: any WebhookRepository
    let requestTasks: any RequestTaskRepository
    let properties: any ConsentPropertyRepository
    let sealedKeys: any SealedKeyRepository
    var sql: SQLiteDatabaseFile { database }
    var recordedRows: any RecordedRows {
        SQLRecordedRows(database: database, consentRows: SQLiteConsentWrites(database: database, vault: vault))
    }

    let vault: PersonalDataVault

    init(path: String, logger: Logger, masterKey: MasterKey?) async throws {
        self.database = try await SQLiteDatabaseFile(path: path, logger: logger)
        self.vault = .sql(masterKey: masterKey, database: database)
        self.consents = SQLiteConsentRepository(database: database, vault: vault)
        self.identity = SQLIdentityRepository(database: database, vault: vault)
        self.privacy = SQLPrivacyRepository(database: database, vault: vault)
        self.ledger = SQLLedgerRepository(database: database)
        self.valuation = SQLValuationRepository(database: database, vault: vault)
        self.erasures = SQLErasureRepository(database: database, vault: vault)
        self.retention = SQLRetentionRepository(database: database)
        self.mailOutbox = SQLMailOutbox(database: database, vault: vault)
        self.webhooks = SQLWebhookRepository(database: database)
        self.requestTasks = SQLRequestTaskRepository(database: database, vault: vault)
        self.properties = SQLConsentPropertyRepository(database: database)
        self.sealedKeys = SQLSealedKeyRepository(database: database)
    }

    func preparePersonalData() async throws {
        try await vault.prepare(sql)
    }

    func run() async throws {
        try? await gracefulShutdown()
        // Closing must finish even when shutdown arrives as cancellation.
        try await Task.detached { [database] in try await database.close() }.value
    }

    func migrate() async throws -> [Int] {
        try await database.write { connection in
            _ = try await connection.query(
                """
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version INTEGER PRIMARY KEY, name TEXT NOT NULL,
                    applied_at INTEGER NOT NULL DEFAULT (CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)))
                """)
            let applied = Set(
                try await connection.query("SELECT version FROM schema_migrations").compactMap {
                    $0.column("version")?.integer
                })
            var newlyApplied: [Int] = []
            for migration in Migration.sqlite where !applied.contains(migration.version) {
                for statement in migration.statements { _ = try await connection.query(statement) }
                _ = try await connection.query(
                    "INSERT INTO schema_migrations (version, name) VALUES (?, ?)",
                    [.integer(migration.version), .text(migration.name)])
                newlyApplied.append(migration.version)
            }
            return newlyApplied
        }
    }

    func grantPrivileges(to applicationRole: String) async throws {
        throw StorageError.refused("SQLite has no roles: an application role needs PostgreSQL")
    }

    func appliedMigrations() async throws -> [Int] {
        let exists = try await database.read(
            "SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'")
        guard exists.first?.column("n")?.integer == 1 else { return [] }
        return try await database.read("SELECT version FROM schema_migrations ORDER BY version")
            .compactMap { $0.column("version")?.integer }
    }
}

/// The two connections to one SQLite file, and the rules for using them.
final class SQLiteDatabaseFile: Sendable {
    private let writer: SQLiteConnection
    private let reader: SQLiteConnection
    private let writeLock = AsyncLock()

    init(path: String, logger: Logger) async throws {
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent()
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        writer = try await SQLiteConnection.open(storage: .file(path: path), logger: logger)
        for pragma in [
            "PRAGMA journal_mode = WAL", "PRAGMA synchronous = FULL", "PRAGMA foreign_keys = ON",
            "PRAGMA busy_timeout = 5000",
        ] {
            _ = try await writer.query(pragma)
        }
        reader = try await SQLiteConnection.open(storage: .file(path: path), logger: logger)
        for pragma in ["PRAGMA query_only = ON", "PRAGMA busy_timeout = 5000"] { _ = try await reader.query(pragma) }
    }

    /// Runs `body` in one write transaction: committed if it returns, rolled back if it throws.
    ///
    /// The transaction runs in a task of its own, so cancelling the caller (a shutdown, say) cannot
    /// stop it between BEGIN and COMMIT or ROLLBACK: the one writer connection would be left inside a
    /// transaction, and every later write refused.
    func write<T: Sendable>(_ body: @escaping @Sendable (SQLiteConnection) async throws -> T) async throws -> T {
        do {
            return try await Task { [writeLock, writer] in
                try await writeLock.withLock {
                    _ = try await writer.query("BEGIN IMMEDIATE")
                    do {
                        let result = try await body(writer)
                        _ = try await writer.query("COMMIT")
                        return result
                    } catch {
                        _ = try? await writer.query("ROLLBACK")
                        throw error
                    }
                }
            }.value
        } catch {
            throw Self.translate(error)
        }
    }

    func read(_ sql: String, _ binds: [SQLiteData] = []) async throws -> [SQLiteRow] {
        do { return try await reader.query(sql, binds) } catch { throw Self.translate(error) }
    }

    func close() async throws {
        try await writeLock.withLock {
            try await writer.close()
            try await reader.close()
        }
    }

    static func isUniqueViolation(_ error: any Error) -> Bool {
        guard let error = error as? SQLiteError else { return false }
        return error.reason == .constraintUniqueFailed || error.reason == .constraintPrimaryKeyFailed
    }

    /// Another process holding the file's write lock past the busy timeout is an outage, not a bug.
    private static func translate(_ error: any Error) -> any Error {
        guard let error = error as? SQLiteError else { return error }
        switch error.reason {
        case .busy, .busyTimeout, .busyInRecovery, .busyInSnapshot, .locked, .full, .ioError, .ioErrorFailedSync,
            .ioErrorFailedWrite, .cantOpen:
            return StorageError.unavailable
        default:
            return error
        }
    }
}
