/// A failure of the database itself rather than of the request.
public struct StorageError: Error, Sendable, Equatable, CustomStringConvertible {
    private enum Base: Sendable, Equatable {
        case unavailable
        case corrupted(String)
        case noMasterKey
        case refused(String)
    }

    private let base: Base
    private init(_ base: Base) { self.base = base }

    /// The database cannot be reached or did not answer in time. Retrying later may succeed.
    public static let unavailable = Self(.unavailable)
    /// Stored data does not match the schema, such as an unknown enum value.
    static func corrupted(_ what: String) -> Self { Self(.corrupted(what)) }

    /// Personal data was to be sealed or opened by a store opened without the master key.
    static let noMasterKey = Self(.noMasterKey)

    /// An administrative request this store cannot carry out as asked.
    static func refused(_ why: String) -> Self { Self(.refused(why)) }

    public var isUnavailable: Bool { base == .unavailable }

    public var description: String {
        switch base {
        case .unavailable: "the database is unavailable"
        case .corrupted(let what): "stored data is not readable: \(what)"
        case .noMasterKey: "personal data needs the master key, and this store was opened without it"
        case .refused(let why): why
        }
    }
}
