import Foundation
import Logging
import NIOCore
import PostgresNIO
import Privacy
import Telemetry

/// PostgreSQL behind the shared SQL repositories, with the request deadline and error translation
/// every PostgreSQL call gets.
struct PostgresSQLDatabase: SQLDatabase {
    let client: PostgresClient
    let logger: Logger

    var lockRowsClause: String { "FOR UPDATE" }
    func concatenation(of blob: String, orderedBy order: String) -> String {
        "string_agg(\(blob), '\\x'::bytea ORDER BY \(order))"
    }
    /// Through the owner's function: the application role may not delete audit rows itself.
    var auditPurge: (before: [String], purge: String, after: [String]) {
        ([], "SELECT seq FROM purge_auth_events($1) AS seq", [])
    }

    func select(_ sql: String, _ binds: [SQLValue]) async throws -> [SQLRow] {
        try await Traced.run("db.query", kind: .client, Self.spanAttributes(sql)) {
            try await run { [logger] client in
                try await Self.collect(try await client.query(Self.query(sql, binds), logger: logger))
            }
        }
    }

    func transaction<T: Sendable>(_ body: @escaping @Sendable (any SQLExecutor) async throws -> T) async throws -> T {
        try await Traced.run("db.transaction", kind: .client, ["db.system.name": "postgresql"]) {
            try await run { [logger] client in
                try await client.withTransaction(logger: logger) { connection in
                    try await body(Executor(connection: connection, logger: logger))
                }
            }
        }
    }

    static func spanAttributes(_ sql: String) -> KeyValuePairs<String, String> {
        ["db.system.name": "postgresql", "db.query.text": sql]
    }

    func write(_ sql: String, _ binds: [SQLValue]) async throws -> [SQLRow] {
        try await select(sql, binds)
    }

    func isUniqueViolation(_ error: any Error) -> Bool {
        PostgresErrors.isUniqueViolation(error)
    }

    private func run<T: Sendable>(_ body: @escaping @Sendable (PostgresClient) async throws -> T) async throws -> T {
        try await withDeadline(PostgresStore.requestDeadline) { [client] in
            do { return try await body(client) } catch { throw PostgresErrors.translate(error) }
        }
    }

    struct Executor: SQLExecutor {
        let connection: PostgresConnection
        let logger: Logger
        var lockRowsClause: String { "FOR UPDATE" }
        func appendLedger(_ records: [LedgerRecord]) async throws -> [Int64] {
            guard !records.isEmpty else { return [] }
            return try await Traced.run("db.ledger.append", kind: .client, ["db.system.name": "postgresql"]) {
                var bindings = PostgresBindings(capacity: 2)
                bindings.append(records.map(\.reference))
                bindings.append(records.map { ByteBuffer(bytes: $0.content) })
                let rows = try await connection.query(
                    PostgresQuery(
                        unsafeSQL: "SELECT entry_seq FROM ledger_append($1, $2) ORDER BY entry_ord", binds: bindings),
                    logger: logger)
                var sequences: [Int64] = []
                for try await sequence in rows.decode(Int64.self) { sequences.append(sequence) }
                return sequences
            }
        }
        func query(_ sql: String, _ binds: [SQLValue]) async throws -> [SQLRow] {
            try await Traced.run("db.query", kind: .client, PostgresSQLDatabase.spanAttributes(sql)) {
                try await PostgresSQLDatabase.collect(
                    try await connection.query(PostgresSQLDatabase.query(sql, binds), logger: logger))
            }
        }
    }

    static func query(_ sql: String, _ binds: [SQLValue]) -> PostgresQuery {
        var bindings = PostgresBindings(capacity: binds.count)
        for value in binds {
            switch value {
            case .null: bindings.appendNull()
            case .integer(let value): bindings.append(value)
            case .text(let value): bindings.append(value)
            case .blob(let value): bindings.append(ByteBuffer(bytes: value))
            }
        }
        return PostgresQuery(unsafeSQL: sql, binds: bindings)
    }

    static func collect(_ rows: PostgresRowSequence) async throws -> [SQLRow] {
        var result: [SQLRow] = []
        for try await row in rows {
            var values: [SQLValue] = []
            values.reserveCapacity(row.count)
            for cell in row {
                guard cell.bytes != nil else {
                    values.append(.null)
                    continue
                }
                switch cell.dataType {
                case .int8, .int4, .int2: values.append(.integer(try cell.decode(Int64.self)))
                case .bool: values.append(.integer(try cell.decode(Bool.self) ? 1 : 0))
                case .bytea: values.append(.blob(Data(try cell.decode(ByteBuffer.self).readableBytesView)))
                default: values.append(.text(try cell.decode(String.self)))
                }
            }
            result.append(SQLRow(values: values))
        }
        return result
    }
}
