import Foundation
import PQCrypto
import QSPPTestSupport
import Storage
import Testing

@testable import Storage

/// `serve` as PostgreSQL's application role: everything the product does still works, and what an
/// insider holding that role's password tries against the evidence fails on privileges, before any
/// trigger is reached.
@Suite(
    "Least privilege on PostgreSQL", .serialized,
    .enabled(if: Backend.postgresURL != nil, "roles need PostgreSQL: QSPP_TEST_POSTGRES_URL is not set"))
struct LeastPrivilegeTests {
    @Test func serveRunsAsAnApplicationRoleThatCanOnlyAppendTheEvidence() async throws {
        let ownerURL = try await isolatedPostgresURL()
        let role = "qspp_app_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(12)
        let masterKey = try MasterKey(base64Seed: testMasterKey)
        try await withStore(try DatabaseURL(parsing: ownerURL), masterKey: masterKey) { store in
            _ = try await (store as! PostgresStore).sql.write("CREATE ROLE \(role) LOGIN", [])
        }
        let migrated = try await CommandLineTests.qspp(
            ["migrate", "--app-role", role, "--database-url", ownerURL], ["QSPP_MASTER_KEY": testMasterKey])
        #expect(migrated.status == 0, "\(migrated.output)")
        var components = try #require(URLComponents(string: ownerURL))
        components.user = role
        let applicationURL = try #require(components.string)

        let server = try ServerProcess(databaseURL: applicationURL, environment: ["QSPP_MIGRATE_ON_START": "false"])
        try await server.waitUntilListening()
        let subject = uniqueSubjectText()
        for decision in ["granted", "withdrawn"] {
            let written = try await server.request(
                .post, "/v1/subjects/\(subject)/consents",
                json: #"{"purpose":"analytics","decision":"\#(decision)"}"#)
            #expect(written.status == .created)
        }
        #expect(try await server.request(.post, "/v1/admin/ledger/checkpoints").status == .created)
        let verified = try await server.request(.get, "/v1/admin/ledger/verify")
        let report = try JSONSerialization.jsonObject(with: Data(try #require(verified.body).readableBytesView))
        #expect((report as? [String: Any])?["intact"] as? Bool == true, "\(report)")
        server.signal(SIGTERM)
        #expect(await server.waitForExit() == 0)

        try await withStore(try DatabaseURL(parsing: applicationURL), masterKey: masterKey) { store in
            let sql = (store as! PostgresStore).sql
            let attacks = [
                "UPDATE consent_events SET decision = 'granted'",
                "DELETE FROM consent_events",
                "TRUNCATE consent_events",
                "DELETE FROM auth_events",
                "UPDATE auth_events SET kind = 'login.success'",
                "TRUNCATE auth_events",
                "UPDATE ledger_entries SET reference = 'elsewhere'",
                "DELETE FROM ledger_entries",
                "DELETE FROM ledger_checkpoints",
                "DELETE FROM ledger_tree",
                "ALTER TABLE consent_events DISABLE TRIGGER USER",
                "DROP TRIGGER consent_events_append_only ON consent_events",
                "CREATE TABLE decoy (id INT)",
                "DELETE FROM schema_migrations",
                "SELECT * FROM purge_auth_events((extract(epoch FROM now()) * 1000000)::BIGINT)",
            ]
            for attack in attacks {
                await #expect(throws: (any Error).self, "\(attack)") { try await sql.write(attack, []) }
            }
            // What serve needs it still may do: read the evidence, and append to it through the ledger.
            let rows = try await sql.select("SELECT count(*) FROM consent_events", [])
            #expect(try rows.first?.integer(0) == 2)
        }
        // The owner meets the second guard: the statement triggers refuse TRUNCATE.
        try await withStore(try DatabaseURL(parsing: ownerURL), masterKey: masterKey) { store in
            let sql = (store as! PostgresStore).sql
            for table in PostgresStore.appendOnlyTables {
                await #expect(throws: (any Error).self, "TRUNCATE \(table)") {
                    try await sql.write("TRUNCATE \(table)", [])
                }
            }
        }
    }

    @Test func theApplicationRoleMustBeAnotherRoleWithAValidName() async throws {
        let ownerURL = try await isolatedPostgresURL()
        let owner = try #require(URLComponents(string: ownerURL)?.user)
        for role in [owner, "Robert'); DROP TABLE consent_events;--"] {
            let refused = try await CommandLineTests.qspp(
                ["migrate", "--app-role", role, "--database-url", ownerURL], ["QSPP_MASTER_KEY": testMasterKey])
            #expect(refused.status != 0, "\(role)")
        }
    }
}
