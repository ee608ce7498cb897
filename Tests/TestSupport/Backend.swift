import Consent
import Foundation
import Logging
import PQCrypto

@testable import Storage

/// The storage backends a test runs against: SQLite always, PostgreSQL when the test command
/// started a cluster and named it in `QSPP_TEST_POSTGRES_URL`.
public enum Backend: String, Sendable, CaseIterable, CustomStringConvertible {
    case sqlite
    case postgres

    public static var postgresURL: String? {
        ProcessInfo.processInfo.environment["QSPP_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// `scripts/test.sh` sets `QSPP_TEST_REQUIRE_POSTGRES=1`, so a missing cluster fails rather than skips.
    public static var all: [Backend] {
        if postgresURL == nil {
            precondition(
                ProcessInfo.processInfo.environment["QSPP_TEST_REQUIRE_POSTGRES"] != "1",
                "QSPP_TEST_REQUIRE_POSTGRES=1 but QSPP_TEST_POSTGRES_URL is not set")
            return [.sqlite]
        }
        // The split topology needs PostgreSQL; its pass leaves SQLite to the all-in-one pass.
        if ProcessInfo.processInfo.environment["QSPP_TEST_TOPOLOGY"] == "split" { return [.postgres] }
        return [.sqlite, .postgres]
    }

    public var description: String { rawValue }

    /// A fresh SQLite file per call; the shared test cluster for PostgreSQL.
    public func databaseURL() throws -> DatabaseURL {
        switch self {
        case .sqlite: .sqlite(path: temporaryPath("qspp-test", extension: "sqlite"))
        case .postgres: try DatabaseURL(parsing: Self.postgresURL!)
        }
    }
}

public func temporaryPath(_ prefix: String, extension ext: String) -> String {
    FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString).\(ext)").path
}

public let testLogger: Logger = {
    var logger = Logger(label: "qspp-test")
    logger.logLevel = .warning
    return logger
}()

/// Opens and migrates a store for `backend`, keeps it running for `body`, then shuts it down.
public func withStore<T: Sendable>(
    _ backend: Backend, _ body: @Sendable (any Store) async throws -> T
) async throws -> T {
    try await withStore(try backend.databaseURL(), masterKey: try MasterKey(base64Seed: testMasterKey), body)
}

/// The same, for a given database and master key.
@discardableResult
public func withStore<T: Sendable>(
    _ url: DatabaseURL, masterKey: MasterKey, _ body: @Sendable (any Store) async throws -> T
) async throws -> T {
    let store = try await openStore(url, logger: testLogger, masterKey: masterKey)
    return try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask {
            try await store.run()
            return nil
        }
        defer { group.cancelAll() }
        _ = try await store.migrate()
        return try await body(store)
    }
}

/// Names that no other test, nor an earlier run against the same database, has used.
public func uniqueSubject(_ prefix: String = "subject") throws -> SubjectID {
    try SubjectID(validating: "\(prefix)-\(UUID().uuidString.lowercased())")
}

public func uniquePurposeID(_ prefix: String = "p") throws -> PurposeID {
    try PurposeID(validating: "\(prefix)_\(UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: ""))")
}

public func makePurpose(_ id: PurposeID, saleOrSharing: Bool = false, at date: Date = Date()) -> Purpose {
    Purpose(
        id: id, title: "Test \(id)", description: "A purpose made by a test", isSaleOrSharing: saleOrSharing,
        notices: [Notice(version: 1, text: "Notice one", url: nil, effectiveAt: date.addingTimeInterval(-60))])
}

public func makeEvent(
    _ subject: SubjectID, _ purpose: PurposeID, _ decision: Decision, version: Int = 1, method: ConsentMethod = .api,
    sourceIP: String? = nil, userAgent: String? = nil, clientTimestamp: Date? = nil
) -> ConsentEvent {
    ConsentEvent(
        id: UUID(), subjectID: subject, purposeID: purpose, decision: decision, noticeVersion: version,
        method: method, sourceIP: sourceIP, userAgent: userAgent, recordedAt: Date(), clientTimestamp: clientTimestamp)
}

/// A fixed master key for tests: a real X-Wing seed, used nowhere else.
public let testMasterKey = "q1q7sPz0i4eWcB0m2cX5i0Dk7m8iQ3mJ0r3m5y6k9/0="
/// A password that passes the policy.
public let testPassword = "correct horse battery staple"

extension ConsentEvent {
    /// The event as written, before the store gave it a ledger sequence.
    public var unsequenced: ConsentEvent {
        var event = self
        event.ledgerSequence = nil
        return event
    }
}

extension Array where Element == ConsentEvent {
    public var unsequenced: [ConsentEvent] { map(\.unsequenced) }
}

extension AppendOutcome {
    public var unsequenced: AppendOutcome {
        switch self {
        case .recorded(let events): .recorded(events.unsequenced)
        case .replayed(let events): .replayed(events.unsequenced)
        }
    }
}

/// A store of its own: SQLite's is a new file anyway; PostgreSQL gets a new database in the test
/// cluster, so rows edited here never touch the ledger other tests share.
public func withIsolatedStore<T: Sendable>(
    _ backend: Backend, _ body: @Sendable (any Store) async throws -> T
) async throws
    -> T
{
    try await withStore(
        try await isolatedDatabaseURL(backend), masterKey: try MasterKey(base64Seed: testMasterKey), body)
}

/// A database no other test uses: a new SQLite file, or a new database in the PostgreSQL test cluster.
public func isolatedDatabaseURL(_ backend: Backend) async throws -> DatabaseURL {
    guard backend == .postgres else { return try backend.databaseURL() }
    return try DatabaseURL(parsing: try await isolatedPostgresURL())
}

/// A new, empty database in the PostgreSQL test cluster.
public func isolatedPostgresURL() async throws -> String {
    guard let url = Backend.postgresURL else { throw CancellationError() }
    let name = "qspp_isolated_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
    try await withStore(.postgres) { store in
        guard let postgres = store as? PostgresStore else { preconditionFailure("not a PostgreSQL store") }
        _ = try await postgres.sql.write("CREATE DATABASE \(name)", [])
    }
    var components = URLComponents(string: url)!
    components.path = "/" + name
    return components.string!
}
