import Storage
import Testing

struct DatabaseURLTests {
    @Test func sqlitePaths() throws {
        #expect(try DatabaseURL(parsing: "sqlite:./data/qspp.sqlite") == .sqlite(path: "./data/qspp.sqlite"))
        #expect(throws: DatabaseURL.ParseError.self) { try DatabaseURL(parsing: "sqlite:") }
    }

    @Test func postgresURLs() throws {
        guard
            case .postgres(let location) = try DatabaseURL(
                parsing: "postgres://app:s%40cret@db.internal:6543/qspp?sslmode=require")
        else { Issue.record("not postgres"); return }
        #expect(location.host == "db.internal")
        #expect(location.port == 6543)
        #expect(location.username == "app")
        #expect(location.password == "s@cret")
        #expect(location.database == "qspp")
        #expect(location.tls == .require)
        guard case .postgres(let socket) = try DatabaseURL(parsing: "postgresql://qspp@/qspp?host=/run/postgresql")
        else { Issue.record("not postgres"); return }
        #expect(socket.unixSocketPath == "/run/postgresql")
    }

    @Test func theDescriptionNeverShowsThePassword() throws {
        let url = try DatabaseURL(parsing: "postgres://app:hunter2hunter2@localhost/qspp")
        #expect(!url.description.contains("hunter2"))
    }

    @Test(arguments: [
        "mysql://x", "postgres://localhost/qspp", "postgres://u@h/db?sslmode=sometimes", "postgres://u@h:99999/db", "",
    ])
    func badURLsAreRefused(text: String) {
        #expect(throws: DatabaseURL.ParseError.self) { try DatabaseURL(parsing: text) }
    }
}
