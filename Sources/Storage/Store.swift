public import Consent
public import Identity
public import Logging
public import Outbox
public import PQCrypto
public import Privacy
public import ServiceLifecycle
public import Valuation

/// An open database with its schema, as one `Service`: running it keeps connections alive;
/// graceful shutdown closes them.
public protocol Store: Service {
    var consents: any ConsentRepository { get }
    var identity: any IdentityRepository { get }
    var privacy: any PrivacyRepository { get }
    var ledger: any LedgerRepository { get }
    var valuation: any ValuationRepository { get }
    var erasures: any ErasureRepository { get }
    var retention: any RetentionRepository { get }
    var sealedKeys: any SealedKeyRepository { get }
    var mailOutbox: any MailOutboxRepository { get }
    var webhooks: any WebhookRepository { get }
    var requestTasks: any RequestTaskRepository { get }
    var properties: any ConsentPropertyRepository { get }
    /// The rows the ledger records, read back for verification.
    var recordedRows: any RecordedRows { get }
    /// Seals and opens personal data under per-subject keys.
    var vault: PersonalDataVault { get }
    /// Applies every migration not yet applied, and returns the versions it applied. Safe to run twice,
    /// and from several processes at once.
    func migrate() async throws -> [Int]
    /// The schema versions already applied.
    func appliedMigrations() async throws -> [Int]
    /// Lets `applicationRole` do what `serve` needs and no more: read and write the working tables,
    /// only read and append the append-only ones. Run by the owner after migrating; PostgreSQL only.
    func grantPrivileges(to applicationRole: String) async throws
    /// Opens the email index key, so a wrong master key stops start-up before anything is written,
    /// and seals the emails of accounts made before encryption at rest existed.
    func preparePersonalData() async throws
}

/// Opens the store a URL names. SQLite opens its file at once; PostgreSQL connects only once the
/// store's service runs. Without `masterKey` the store can migrate but not read or write personal data.
public func openStore(_ url: DatabaseURL, logger: Logger, masterKey: MasterKey? = nil) async throws -> any Store {
    switch url {
    case .sqlite(let path): try await SQLiteStore(path: path, logger: logger, masterKey: masterKey)
    case .postgres(let location): PostgresStore(location: location, logger: logger, masterKey: masterKey)
    }
}
