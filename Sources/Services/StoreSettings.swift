import PQCrypto
public import Storage

/// Where the data lives and which key-encryption key guards it. The master key is kept as given here;
/// `qspp serve` resolves it (value, file, or the SQLite default beside the database) into
/// ``ServiceSettings/masterKey``.
public struct StoreSettings: Sendable {
    public var databaseURL = DatabaseURL.sqlite(path: "./data/qspp.sqlite")
    public var migrateOnStart = true
    /// The base64 seed of the key-encryption key, or a file holding it. With neither, an SQLite store
    /// keeps one in `master.key` beside its database file; PostgreSQL deployments must name one.
    public var masterKey: String?
    public var masterKeyFile: String?
    /// Master keys being rotated away from: they open what they sealed until `qspp keys rotate-kek`
    /// has re-sealed it under the current one.
    public var previousMasterKeys: [String] = []

    public init() {}

    public init(reader: SettingsReader) throws(InvalidSetting) {
        let qspp = reader.scoped(to: "qspp")
        databaseURL = try qspp.parsed("database.url", isSecret: true) { try DatabaseURL(parsing: $0) } ?? databaseURL
        migrateOnStart = try qspp.boolean("migrate.on.start", default: migrateOnStart)
        masterKey = try qspp.parsed("master.key", isSecret: true, Self.checkedMasterKey)
        masterKeyFile = qspp.string("master.key.file")
        let notKeys = "must be comma-separated master keys: " + PQCryptoError.invalidMasterKey.description
        previousMasterKeys =
            try qspp.list("previous.master.keys", isSecret: true, refusal: notKeys) { try? Self.checkedMasterKey($0) }
            ?? []
    }

    /// `text` if it is a master key; the error says why not without repeating it.
    private static func checkedMasterKey(_ text: String) throws -> String {
        _ = try MasterKey(base64Seed: text)
        return text
    }
}
