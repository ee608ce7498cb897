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
