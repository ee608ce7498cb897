import Foundation
import NIOCore
import Privacy
import SQLiteNIO
import Telemetry

extension SQLiteDatabaseFile: SQLDatabase {
    var lockRowsClause: String { "" }
    /// `group_concat` answers text, which keeps every byte; the cast makes it a blob again.
    func concatenation(of blob: String, orderedBy order: String) -> String {
        "CAST(group_concat(\(blob), x'' ORDER BY \(order)) AS BLOB)"
    }
    var auditPurge: (before: [String], purge: String, after: [String]) {
        (
            ["INSERT INTO retention_purge (active) VALUES (1)"],
            "DELETE FROM auth_events WHERE occurred_at < $1 RETURNING seq", ["DELETE FROM retention_purge"]
        )
    }

    func select(_ sql: String, _ binds: [SQLValue]) async throws -> [SQLRow] {
        try await Traced.run("db.query", kind: .client, Self.spanAttributes(sql)) {
            try await read(Self.positional(sql), binds.map(Self.sqliteData)).map(Self.row)
        }
    }

    func transaction<T: Sendable>(_ body: @escaping @Sendable (any SQLExecutor) async throws -> T) async throws -> T {
        try await Traced.run("db.transaction", kind: .client, ["db.system.name": "sqlite"]) {
            try await write { connection in try await body(Executor(connection: connection)) }
        }
    }

    static func spanAttributes(_ sql: String) -> KeyValuePairs<String, String> {
        ["db.system.name": "sqlite", "db.query.text": sql]
    }

    func write(_ sql: String, _ binds: [SQLValue]) async throws -> [SQLRow] {
        try await transaction { try await $0.query(sql, binds) }
    }

    func isUniqueViolation(_ error: any Error) -> Bool {
        Self.isUniqueViolation(error) as Bool
    }

    struct Executor: SQLExecutor {
        let connection: SQLiteConnection
        var lockRowsClause: String { "" }
        func appendLedger(_ records: [LedgerRecord]) async throws -> [Int64] {
            try await LedgerWriter.append(records, self)
        }
        func query(_ sql: String, _ binds: [SQLValue]) async throws -> [SQLRow] {
            try await Traced.run("db.query", kind: .client, SQLiteDatabaseFile.spanAttributes(sql)) {
                try await connection.query(
                    SQLiteDatabaseFile.positional(sql), binds.map(SQLiteDatabaseFile.sqliteData)
                ).map(SQLiteDatabaseFile.row)
            }
        }
    }

    /// `$7` becomes `?7`: SQLite's numbered parameter, bound by position exactly as PostgreSQL's.
    static func positional(_ sql: String) -> String {
        sql.replacingOccurrences(of: #"\$(\d+)"#, with: "?$1", options: .regularExpression)
    }

    static func sqliteData(_ value: SQLValue) -> SQLiteData {
        switch value {
        case .null: .null
        case .integer(let value): .integer(Int(value))
        case .text(let value): .text(value)
        case .blob(let value): .blob(ByteBuffer(bytes: value))
        }
    }

    static func row(_ row: SQLiteRow) -> SQLRow {
        SQLRow(
            values: row.columns.map { column in
                switch column.data {
                case .integer(let value): .integer(Int64(value))
                case .float(let value): .integer(Int64(value))
                case .text(let value): .text(value)
                case .blob(let buffer): .blob(Data(buffer.readableBytesView))
                case .null: .null
                }
            })
    }
}
