@testable import Storage

extension Store {
    /// The store's SQL beneath its repositories, for the tests that tamper with rows or read them raw.
    var sql: any SQLDatabase {
        switch self {
        case let store as SQLiteStore: store.sql
        case let store as PostgresStore: store.sql
        default: preconditionFailure("a store of neither backend")
        }
    }
}

extension Store {
    /// The rows `sql` selects, each value as text (`NULL` for a null), for assertions on what is stored.
    func sqlRows(_ statement: String) async throws -> [[String]] {
        try await sql.select(statement, []).map { row in
            row.values.map { value in
                switch value {
                case .null: "NULL"
                case .integer(let number): String(number)
                case .text(let text): text
                case .blob(let bytes): bytes.base64EncodedString()
                }
            }
        }
    }
}
