import Consent
import Foundation
import Kernel
import PQCrypto
import Privacy

/// A value bound to, or read from, a statement. The identity tables use only these four types, so one
/// repository implementation serves both backends.
enum SQLValue: Sendable, Equatable {
    case null
    case integer(Int64)
    case text(String)
    case blob(Data)

    var integer: Int64? { if case .integer(let value) = self { value } else { nil } }
    var text: String? { if case .text(let value) = self { value } else { nil } }
    var blob: Data? { if case .blob(let value) = self { value } else { nil } }
    /// A blob, or a text's UTF-8: what a column holds, whatever type a damaged row gave it.
    var bytes: Data? {
        switch self {
        case .blob(let value): value
        case .text(let value): Data(value.utf8)
        case .null, .integer: nil
        }
    }

    static func optional(_ value: String?) -> SQLValue { value.map(SQLValue.text) ?? .null }
    static func optional(_ value: Data?) -> SQLValue { value.map(SQLValue.blob) ?? .null }
    static func time(_ date: Date) -> SQLValue { .integer(date.microsecondsSince1970) }
    static func optionalTime(_ date: Date?) -> SQLValue { date.map(SQLValue.time) ?? .null }
    static func uuid(_ id: UUID) -> SQLValue { .text(id.lowercasedString) }
}

/// One row, read by column position.
struct SQLRow: Sendable {
    let values: [SQLValue]

    subscript(_ index: Int) -> SQLValue { index < values.count ? values[index] : .null }

    func text(_ index: Int) throws -> String {
        guard let value = self[index].text else { throw StorageError.corrupted("identity row") }
        return value
    }
    func integer(_ index: Int) throws -> Int64 {
        guard let value = self[index].integer else { throw StorageError.corrupted("identity row") }
        return value
    }
    func uuid(_ index: Int) throws -> UUID {
        guard let value = UUID(uuidString: try text(index)) else { throw StorageError.corrupted("identity row") }
        return value
    }
    func time(_ index: Int) throws -> Date { Date(microsecondsSince1970: try integer(index)) }
    func optionalTime(_ index: Int) -> Date? { self[index].integer.map { Date(microsecondsSince1970: $0) } }
}

/// Runs statements inside one transaction.
protocol SQLExecutor: Sendable {
    /// `FOR UPDATE` where the backend locks rows; SQLite's write transactions are already exclusive.
    var lockRowsClause: String { get }
    /// `sql` uses PostgreSQL's `$1`, `$2`… placeholders on both backends.
    func query(_ sql: String, _ binds: [SQLValue]) async throws -> [SQLRow]
    /// Links `records` to the ledger and returns their sequences. It locks the ledger's head until the
    /// transaction ends, so it is the last statement of every transaction that calls it.
    func appendLedger(_ records: [LedgerRecord]) async throws -> [Int64]
}

extension SQLExecutor {
    func execute(_ sql: String, _ binds: [SQLValue] = []) async throws {
        _ = try await query(sql, binds)
    }
}

/// What the shared SQL repositories need from a backend.
protocol SQLDatabase: Sendable {
    /// `FOR UPDATE` where the backend locks rows; SQLite's write transactions are already exclusive.
    var lockRowsClause: String { get }
    /// An aggregate that joins `blob` of every row into one blob, in the order of `order`.
    func concatenation(of blob: String, orderedBy order: String) -> String
    func select(_ sql: String, _ binds: [SQLValue]) async throws -> [SQLRow]
    func transaction<T: Sendable>(_ body: @escaping @Sendable (any SQLExecutor) async throws -> T) async throws -> T
    /// One data-changing statement, committed on its own: a single round trip on PostgreSQL.
    func write(_ sql: String, _ binds: [SQLValue]) async throws -> [SQLRow]
    func isUniqueViolation(_ error: any Error) -> Bool
    /// How the retention job deletes audit rows older than `$1`, returning one row each, inside its own
    /// transaction: with statements that let, then stop letting, it past the append-only trigger around
    /// the delete, or through a function that alone may delete them.
    var auditPurge: (before: [String], purge: String, after: [String]) { get }
}
