public import Foundation

/// Where the data lives: `sqlite:PATH` for the embedded store, or a `postgres://` URL.
public enum DatabaseURL: Sendable, Equatable, CustomStringConvertible {
    case sqlite(path: String)
    case postgres(PostgresLocation)

    public struct PostgresLocation: Sendable, Equatable {
        public enum TLSMode: String, Sendable { case disable, prefer, require, verifyFull = "verify-full" }
        public var host: String
        public var port: Int
        public var unixSocketPath: String?
        public var username: String
        public var password: String?
        public var database: String?
        public var tls: TLSMode
    }

    public struct ParseError: Error, CustomStringConvertible {
        public let description: String
    }

    public init(parsing text: String) throws(ParseError) {
        if text.hasPrefix("sqlite:") {
            let path = String(text.dropFirst("sqlite:".count))
            guard !path.isEmpty else {
                throw ParseError(description: "sqlite: needs a file path, as in sqlite:./data/qspp.sqlite")
            }
            self = .sqlite(path: path)
            return
        }
        guard text.hasPrefix("postgres://") || text.hasPrefix("postgresql://"),
            let components = URLComponents(string: text)
        else {
            throw ParseError(description: "must start with sqlite: or postgres://")
        }
        let query = Dictionary(
            (components.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { _, last in last })
        let tlsText = query["sslmode"] ?? "prefer"
        guard let tls = PostgresLocation.TLSMode(rawValue: tlsText) else {
            throw ParseError(description: "sslmode must be disable, prefer, require or verify-full")
        }
        let socket = query["host"].flatMap { $0.hasPrefix("/") ? $0 : nil }
        guard let user = components.user, !user.isEmpty else {
            throw ParseError(description: "a postgres URL needs a user name, as in postgres://qspp@localhost/qspp")
        }
        if let port = components.port, !(1...65535).contains(port) {
            throw ParseError(description: "port must be between 1 and 65535")
        }
        let database = components.path.split(separator: "/").first.map(String.init)
        self = .postgres(
            PostgresLocation(
                host: components.host.flatMap { $0.isEmpty ? nil : $0 } ?? "localhost",
                port: components.port ?? 5432, unixSocketPath: socket, username: user,
                password: components.password?.removingPercentEncoding, database: database, tls: tls))
    }

    /// Safe to log: never includes the password.
    public var description: String {
        switch self {
        case .sqlite(let path): "sqlite:\(path)"
        case .postgres(let location):
            "postgres://\(location.username)@\(location.unixSocketPath ?? "\(location.host):\(location.port)")/\(location.database ?? "")"
        }
    }
}
