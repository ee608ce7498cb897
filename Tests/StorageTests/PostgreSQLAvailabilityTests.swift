import QSPPTestSupport
import Storage
import Testing

/// Without a PostgreSQL cluster, every conformance suite runs on SQLite alone. This test is what says
/// so: it is skipped, with the reason on one line, rather than letting the PostgreSQL cases vanish.
@Suite("PostgreSQL availability")
struct PostgreSQLAvailabilityTests {
    @Test(
        .enabled(
            if: Backend.postgresURL != nil,
            "PostgreSQL cases did not run: QSPP_TEST_POSTGRES_URL is not set (scripts/test.sh starts a cluster)"))
    func theTestClusterAnswers() async throws {
        let applied = try await withStore(.postgres) { store in
            _ = try await store.migrate()
            return try await store.appliedMigrations()
        }
        #expect(!applied.isEmpty)
    }
}
