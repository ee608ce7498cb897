import Consent
import Identity
import Logging
import NIOSSL
import Outbox
import PQCrypto
import PostgresNIO
import Privacy
import ServiceLifecycle
import Valuation

/// PostgreSQL, the production database: one connection pool shared by every repository.
final class PostgresStore: Store {
    let client: PostgresClient
    let logger: Logger
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
    let sql: PostgresSQLDatabase
    /// How long a request may wait for the database before it is answered 503.
    static let requestDeadline: Duration = .seconds(5)
    static let migrationDeadline: Duration = .seconds(30)
    /// Any constant unique to this application: serialises concurrent migrators.
    private static let migrationLockID: Int64 = 0x5153_5050_4D49_4752

    let vault: PersonalDataVault
    var recordedRows: any RecordedRows {
        SQLRecordedRows(
            database: sql,
            consentRows: PostgresConsentWrites(client: client, logger: logger, vault: vault))
    }

    init(location: DatabaseURL.PostgresLocation, logger: Logger, masterKey: MasterKey?) {
        var configuration: PostgresClient.Configuration
        if let socket = location.unixSocketPath {
            configuration = .init(
                unixSocketPath: socket, username: location.username, password: location.password,
                database: location.database)
        } else {
            configuration = .init(
                host: location.host, port: location.port, username: location.username, password: location.password,
                database: location.database, tls: Self.tls(location.tls))
        }
        configuration.options.connectTimeout = .seconds(3)
        configuration.options.maximumConnections = 16
        // A transaction left open (a client cancelled mid-way) would hold its locks, the ledger head's
        // among them, until its connection closed: the server ends such a session instead.
        configuration.options.additionalStartupParameters = [("idle_in_transaction_session_timeout", "30000")]
        self.client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.logger = logger
        let database = PostgresSQLDatabase(client: client, logger: logger)
        self.sql = database
        self.vault = .sql(masterKey: masterKey, database: database)
        self.consents = PostgresConsentRepository(client: client, logger: logger, vault: vault)
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

    private static func tls(_ mode: DatabaseURL.PostgresLocation.TLSMode) -> PostgresClient.Configuration.TLS {
        var unverified = TLSConfiguration.makeClientConfiguration()
        unverified.certificateVerification = .none
        return switch mode {
        case .disable: .disable
        case .prefer: .prefer(unverified)
        case .require: .require(unverified)
        case .verifyFull: .require(.makeClientConfiguration())
        }
    }

    func preparePersonalData() async throws {
        try await vault.prepare(sql)
    }

    func run() async throws {
        await client.run()
    }

    func migrate() async throws -> [Int] {
        // An application role may not create anything, and need not: with nothing to apply, nothing is.
        let pending = Set(Migration.postgres.map(\.version)).subtracting(try await appliedMigrations())
        guard !pending.isEmpty else { return [] }
        return try await withDeadline(Self.migrationDeadline) { [client, logger] in
            do {
                return try await client.withTransaction(logger: logger) { connection in
                    try await connection.query("SELECT pg_advisory_xact_lock(\(Self.migrationLockID))", logger: logger)
                    try await connection.query(
                        """
                        CREATE TABLE IF NOT EXISTS schema_migrations (
                            version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())
                        """, logger: logger)
                    let applied = try await Self.versions(connection, logger: logger)
                    var newlyApplied: [Int] = []
                    for migration in Migration.postgres where !applied.contains(migration.version) {
                        for statement in migration.statements {
                            try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                        }
                        try await connection.query(
                            "INSERT INTO schema_migrations (version, name) VALUES (\(migration.version), \(migration.name))",
                            logger: logger)
                        newlyApplied.append(migration.version)
                    }
                    return newlyApplied
                }
            } catch {
                throw PostgresErrors.translate(error)
            }
        }
    }

    func appliedMigrations() async throws -> [Int] {
        try await withDeadline(Self.requestDeadline) { [client, logger] in
            do {
                return try await client.withConnection { try await Self.versions($0, logger: logger) }.sorted()
            } catch {
                throw PostgresErrors.translate(error)
            }
        }
    }

    private static func versions(_ connection: PostgresConnection, logger: Logger) async throws -> Set<Int> {
        let exists =
            try await connection.query("SELECT to_regclass('schema_migrations') IS NOT NULL", logger: logger)
            .decode(Bool.self).first { _ in true } ?? false
        guard exists else { return [] }
        var versions: Set<Int> = []
        for try await version in try await connection.query("SELECT version FROM schema_migrations", logger: logger)
            .decode(Int.self)
        {
            versions.insert(version)
        }
        return versions
    }
}

/// Turns driver errors into the errors the rest of the application understands.
enum PostgresErrors {
    static func translate(_ error: any Error) -> any Error {
        switch error {
        case let error as PostgresTransactionError:
            return translate(error.closureError ?? error.beginError ?? error.commitError ?? StorageError.unavailable)
        case is ConsentError, is StorageError, is IdentityError, is PrivacyError:
            return error
        case let error as PSQLError:
            guard error.code == .server, let state = error.serverInfo?[.sqlState] else {
                return StorageError.unavailable
            }
            // Connection exceptions, operator intervention (shutdown, crash recovery) and resource exhaustion.
            if state.hasPrefix("08") || state.hasPrefix("57P") || state.hasPrefix("53") {
                return StorageError.unavailable
            }
            return error
        case is CancellationError:
            return StorageError.unavailable
        default:
            return error
        }
    }

    static func isUniqueViolation(_ error: any Error) -> Bool {
        var error = error
        if let transaction = error as? PostgresTransactionError, let inner = transaction.closureError { error = inner }
        return (error as? PSQLError)?.serverInfo?[.sqlState] == "23505"
    }

    /// A failure that would fail any transaction, so retrying units one by one is pointless.
    static func isSystemic(_ error: any Error) -> Bool {
        (translate(error) as? StorageError)?.isUnavailable ?? false
    }
}

extension PostgresStore {
    /// The tables whose rows are evidence: the application role may read and add to them, never change
    /// or remove them. Their row and statement triggers are the second guard, for the owner.
    static let appendOnlyTables = [
        "consent_events", "auth_events", "ledger_entries", "ledger_checkpoints", "ledger_tree", "staff_access",
        "ledger_cosignatures", "visitor_links",
    ]

    func grantPrivileges(to applicationRole: String) async throws {
        guard applicationRole.utf8.count <= 63,
            applicationRole.wholeMatch(of: /[a-z_][a-z0-9_]*/) != nil
        else { throw StorageError.refused("a role name is lower-case letters, digits and underscores") }
        let role = "\"\(applicationRole)\""
        try await withDeadline(Self.migrationDeadline) { [client, logger] in
            do {
                try await client.withTransaction(logger: logger) { connection in
                    try await connection.query("SELECT pg_advisory_xact_lock(\(Self.migrationLockID))", logger: logger)
                    let owner =
                        try await connection.query("SELECT current_user = \(applicationRole)", logger: logger)
                        .decode(Bool.self).first { _ in true } ?? true
                    guard !owner else {
                        throw StorageError.refused("the application role must be another role than the owner")
                    }
                    let schema =
                        try await connection.query("SELECT quote_ident(current_schema())", logger: logger)
                        .decode(String.self).first { _ in true } ?? "public"
                    let statements = [
                        "GRANT USAGE ON SCHEMA \(schema) TO \(role)",
                        "REVOKE ALL ON ALL TABLES IN SCHEMA \(schema) FROM \(role)",
                        "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA \(schema) TO \(role)",
                        "GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA \(schema) TO \(role)",
                        "REVOKE UPDATE, DELETE ON \(Self.appendOnlyTables.joined(separator: ", ")) FROM \(role)",
                        "REVOKE INSERT, UPDATE, DELETE ON schema_migrations FROM \(role)",
                        "GRANT EXECUTE ON FUNCTION purge_auth_events(BIGINT) TO \(role)",
                    ]
                    for statement in statements {
                        try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                    }
                }
            } catch {
                throw PostgresErrors.translate(error)
            }
        }
    }
}
