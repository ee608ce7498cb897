import App
import Configuration
import Consent
import Foundation
import Identity
import Kernel
import PQCrypto
import QSPPTestSupport
import Services
import Storage
import Synchronization
import Testing

@testable import App

@Suite("Configuration")
struct ConfigurationTests {
    @Test func defaultsNeedNoSetUp() async throws {
        let configuration = try await AppConfiguration.load(overrides: [:], environment: [:], configFile: nil)
        #expect(configuration.server.host == "127.0.0.1")
        #expect(configuration.server.port == 8080)
        #expect(configuration.store.databaseURL == .sqlite(path: "./data/qspp.sqlite"))
        #expect(configuration.observability.logLevel == .info)
        #expect(configuration.tokens.algorithm == .mldsa65)
        #expect(configuration.signIn.argon2 == .owaspMinimum)
        #expect(configuration.tokens.accessTokenLifetime == 900)
        #expect(configuration.store.migrateOnStart)
    }

    @Test func flagsBeatEnvironmentWhichBeatsTheFile() async throws {
        let file = temporaryPath("qspp-config", extension: "env")
        try "QSPP_PORT=9000\nQSPP_HOST=0.0.0.0\n# comment\nQSPP_LOG_LEVEL=debug\n".write(
            toFile: file, atomically: true, encoding: .utf8)
        let configuration = try await AppConfiguration.load(
            overrides: [.port: "9200"], environment: ["QSPP_PORT": "9100", "QSPP_HOST": "::1"], configFile: file)
        #expect(configuration.server.port == 9200)
        #expect(configuration.server.host == "::1")
        #expect(configuration.observability.logLevel == .debug)
    }

    @Test(arguments: [
        ("QSPP_PORT", "eighty"), ("QSPP_PORT", "70000"), ("QSPP_DATABASE_URL", "mysql://db"),
        ("QSPP_LOG_LEVEL", "loud"), ("QSPP_MASTER_KEY", "c2hvcnQ="), ("QSPP_MIGRATE_ON_START", "perhaps"),
        ("QSPP_TOKEN_ALGORITHM", "HS256"), ("QSPP_ARGON2_MEMORY_KIB", "1024"), ("QSPP_ACCESS_TOKEN_TTL", "0"),
        ("QSPP_TRUSTED_PROXIES", "10.0.0.0/33"), ("QSPP_TRUSTED_PROXIES", "proxy.local"),
        ("QSPP_CORS_ORIGINS", "https://app.example.com/path"), ("QSPP_RATE_LIMIT_GLOBAL", "0"),
        ("QSPP_PRICE_BOOK", "/nonexistent/prices.json"), ("QSPP_VALUATION_THREADS", "0"), ("QSPP_TRACING", "jaeger"),
        ("QSPP_ROLE", "frontend"), ("QSPP_UPSTREAM_AUTH", "auth:3001"), ("QSPP_UPSTREAM_CONSENT", "http://c:3000/v1"),
        ("QSPP_UPSTREAM_TIMEOUT_SECONDS", "0"), ("QSPP_LEDGER_ORIGIN", "a log"), ("QSPP_LEDGER_ORIGIN", "a+b"),
        ("QSPP_LEDGER_TRUSTED_KEYS", "log.example+00000000+AQ=="), ("QSPP_METRICS_NETWORKS", "everyone"),
        ("QSPP_MANAGEMENT_PORT", "8080"), ("QSPP_MANAGEMENT_PORT", "0"),
        ("QSPP_LEDGER_TRUSTED_KEYS", "log.example+1234abcd+AThJMfcFK2zyZ4OM0bRR/ZBd8JjGSf7h+2Lx0tXbzYLc"),
    ])
    func invalidValuesNameTheirKey(key: String, value: String) async throws {
        do {
            _ = try await AppConfiguration.load(overrides: [:], environment: [key: value], configFile: nil)
            Issue.record("\(key)=\(value) was accepted")
        } catch let error as AppConfiguration.InvalidValue {
            #expect(error.description.hasPrefix("\(key):"))
            if key == "QSPP_MASTER_KEY" { #expect(!error.description.contains(value)) }
        }
    }

    @Test func aMissingConfigFileIsAnError() async throws {
        await #expect(throws: AppConfiguration.ConfigFileError.self) {
            try await AppConfiguration.load(overrides: [:], environment: [:], configFile: "/nonexistent/qspp.env")
        }
    }

    /// Each area reads its keys through a scoped reader; a wrong scope or path would leave a documented
    /// variable silently ignored.
    @Test func theAreasReadExactlyTheDocumentedKeys() throws {
        let reads = ReadKeys()
        _ = try AppConfiguration(
            reader: ConfigReader(providers: [InMemoryProvider(values: [:])], accessReporter: reads))
        #expect(reads.names.withLock { $0 } == Set(AppConfiguration.Key.allCases.map(\.rawValue)))
    }
}

/// The keys a reader was asked for, named as environment variables.
private final class ReadKeys: AccessReporter {
    let names = Mutex<Set<String>>([])

    func report(_ event: AccessEvent) {
        let name = event.metadata.key.components.joined(separator: "_").uppercased()
        names.withLock { _ = $0.insert(name) }
    }
}

struct RFC3339Tests {
    @Test(
        arguments: [
            ("2026-11-25T10:00:00Z", 1_795_600_800_000_000), ("2026-11-25t10:00:00.5z", 1_795_600_800_500_000),
            ("2026-11-25T11:00:00.123456789+01:00", 1_795_600_800_123_456),
            ("2026-11-25T05:30:00-04:30", 1_795_600_800_000_000),
        ] as [(String, Int64)])
    func validTimestamps(text: String, micros: Int64) throws {
        #expect(try #require(RFC3339.date(from: text)).microsecondsSince1970 == micros)
    }

    @Test(arguments: [
        "2026-11-25T10:00:00", "2026-11-25 10:00:00Z", "2026-02-31T10:00:00Z", "2026-13-01T10:00:00Z", "yesterday",
        "2026-11-25T10:00:00.Z", "2026-11-25T10:00:00+0100", "2026-11-25T25:00:00Z", "",
    ])
    func invalidTimestamps(text: String) {
        #expect(RFC3339.date(from: text) == nil)
    }

    @Test func formattingKeepsMicroseconds() {
        #expect(
            RFC3339.string(from: Date(microsecondsSince1970: 1_795_600_800_000_042)) == "2026-11-25T10:00:00.000042Z")
    }
}

@Suite("Master key")
struct MasterKeyStartupTests {
    /// A wrong key-encryption key stops start-up with a clear message, and changes nothing stored.
    @Test func aWrongMasterKeyFailsFastAndChangesNothing() async throws {
        let url = DatabaseURL.sqlite(path: temporaryPath("qspp-kek", extension: "sqlite"))
        let right = AppConfiguration(databaseURL: url, masterKey: testMasterKey)
        let services = try await QSPPServices.open(right, logger: testLogger)
        let before = try await services.withRunningStore {
            try await services.prepare(logger: testLogger)
            return try await services.store.identity.signingKeys()
        }
        #expect(before.count == 1)

        let wrong = AppConfiguration(databaseURL: url, masterKey: MasterKey.generateSeedText())
        let reopened = try await QSPPServices.open(wrong, logger: testLogger)
        let after = try await reopened.withRunningStore {
            await #expect(throws: PQCryptoError.cannotOpen) { try await reopened.prepare(logger: testLogger) }
            return try await reopened.store.identity.signingKeys()
        }
        #expect(after == before)
        #expect(PQCryptoError.cannotOpen.description.contains("wrong master key"))
    }

    @Test func splitRolesNeedPostgreSQLAndOneIssuer() async throws {
        let postgres = "postgres://qspp@db:5432/qspp"
        for (environment, key) in [
            (["QSPP_ROLE": "consent", "QSPP_TOKEN_ISSUER": "https://privacy.example.com"], "QSPP_ROLE"),
            (["QSPP_ROLE": "gateway", "QSPP_DATABASE_URL": postgres], "QSPP_TOKEN_ISSUER"),
        ] {
            await #expect {
                try await AppConfiguration.load(overrides: [:], environment: environment, configFile: nil)
            } throws: { error in
                (error as? AppConfiguration.InvalidValue)?.description.hasPrefix("\(key):") == true
            }
        }
        let gateway = try await AppConfiguration.load(
            overrides: [.role: "gateway"],
            environment: [
                "QSPP_DATABASE_URL": postgres, "QSPP_TOKEN_ISSUER": "https://privacy.example.com",
                "QSPP_UPSTREAM_AUTH": "http://auth:3001", "QSPP_UPSTREAM_TIMEOUT_SECONDS": "12",
            ], configFile: nil)
        #expect(gateway.gateway.role == .gateway)
        #expect(gateway.gateway.upstreams.urls[.auth] == URL(string: "http://auth:3001"))
        // Unset upstreams default to the seed's ports on loopback.
        #expect(gateway.gateway.upstreams.urls[.consent] == URL(string: "http://127.0.0.1:3000"))
        #expect(gateway.gateway.upstreams.urls[.valuation] == URL(string: "http://127.0.0.1:3002"))
        #expect(gateway.gateway.upstreams.timeout == .seconds(12))
        #expect(
            try await AppConfiguration.load(overrides: [:], environment: [:], configFile: nil).gateway.role == .all)
    }
}
