import QSPPTestSupport
import Testing

@testable import Storage

/// A database records the versions it has applied and runs only the others, so each list must number
/// its versions from one without gaps, and both backends must reach the same schema through the same
/// versions, as the repositories' shared SQL assumes. No database is needed, so PostgreSQL's list is
/// checked even where no cluster runs.
@Suite("Migration list")
struct MigrationListTests {
    @Test(arguments: Backend.allCases)
    func versionsRunFromOneUpWithoutGaps(backend: Backend) {
        let versions = migrations(backend).map(\.version)
        #expect(!versions.isEmpty)
        #expect(versions == versions.indices.map { $0 + 1 })
    }

    @Test func bothBackendsHaveTheSameVersionsAndNamesInTheSameOrder() {
        #expect(Migration.postgres.map(\.version) == Migration.sqlite.map(\.version))
        #expect(Migration.postgres.map(\.name) == Migration.sqlite.map(\.name))
        let names = Migration.postgres.map(\.name)
        #expect(Set(names).count == names.count)
    }

    /// A version may change one backend only (roles exist on PostgreSQL alone), never neither.
    @Test func everyVersionHasStatements() {
        for (postgres, sqlite) in zip(migrations(.postgres), migrations(.sqlite)) {
            #expect(
                !(postgres.statements.isEmpty && sqlite.statements.isEmpty),
                "version \(postgres.version) (\(postgres.name))")
        }
    }

    private func migrations(_ backend: Backend) -> [Migration] {
        switch backend {
        case .postgres: Migration.postgres
        case .sqlite: Migration.sqlite
        }
    }
}
