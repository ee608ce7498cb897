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

    @Test(arguments: Backend.allCases)
    func everyVersionHasStatements(backend: Backend) {
        for migration in migrations(backend) {
            #expect(!migration.statements.isEmpty, "version \(migration.version) (\(migration.name))")
        }
    }

    private func migrations(_ backend: Backend) -> [Migration] {
        switch backend {
        case .postgres: Migration.postgres
        case .sqlite: Migration.sqlite
        }
    }
}
