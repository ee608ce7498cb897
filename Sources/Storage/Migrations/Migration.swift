/// One versioned schema change as one backend runs it. A database records the versions it has applied
/// by number and name, so a shipped version's number, name and statements never change; a change to
/// the schema is a new version.
struct Migration: Sendable {
    let version: Int
    let name: String
    let statements: [String]
}

extension Migration {
    /// Every schema version, in the order they apply.
    static let versions: [Version] = [
        v01ConsentLedger,
        v02SeedPurposes,
        v03Identity,
        v04AuthEventsAppendOnly,
        v05DataSubjectRequests,
        v06Ledger,
        v07PersonalDataKeys,
        v08Rights,
        v09Retention,
        v10Valuation,
        v11SpentChallenges,
        v12LedgerTree,
        v13LeastPrivilege,
        v14LedgerReferences,
        v15StaffAccess,
        v16LedgerCosignatures,
        v17ConsentLedgerSequence,
        v18MailOutbox,
        v19Passkeys,
        v20AccountTokenPayload,
        v21OAuthClients,
        v22OAuthGrants,
        v23OAuthLogout,
        v24Webhooks,
        v25RequestTasks,
        v26ConsentProperties,
        v27VisitorLinks,
    ]

    static let postgres: [Migration] = versions.map {
        Migration(version: $0.number, name: $0.name, statements: $0.postgres)
    }
    static let sqlite: [Migration] = versions.map {
        Migration(version: $0.number, name: $0.name, statements: $0.sqlite)
    }
}

extension Migration {
    /// One schema version with both backends' statements, so the two cannot drift apart in number,
    /// name or order.
    struct Version: Sendable {
        let number: Int
        let name: String
        let postgres: [String]
        let sqlite: [String]

        init(number: Int, name: String, postgres: [String], sqlite: [String]) {
            self.number = number
            self.name = name
            self.postgres = postgres
            self.sqlite = sqlite
        }

        /// A version whose statements differ between the backends only where `Dialect` says, so the
        /// repositories' SQL runs unchanged on either.
        init(number: Int, name: String, statements: (Dialect) -> [String]) {
            self.init(number: number, name: name, postgres: statements(.postgres), sqlite: statements(.sqlite))
        }
    }

    /// The type names and expressions where the backends' otherwise shared SQL differs.
    struct Dialect: Sendable {
        let integer: String
        let blob: String
        /// An auto-numbered primary key.
        let serial: String
        /// SQLite's STRICT table option, which PostgreSQL lacks; it follows a `CREATE TABLE`'s closing
        /// parenthesis.
        let strict: String
        /// An expression for the current time, in the type the dialect keeps times in.
        let now: String

        static let postgres = Dialect(
            integer: "BIGINT", blob: "BYTEA", serial: "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY", strict: "",
            now: "now()")
        /// Timestamps are INTEGER microseconds since 1970; UUIDs are lower-case TEXT.
        static let sqlite = Dialect(
            integer: "INTEGER", blob: "BLOB", serial: "INTEGER PRIMARY KEY AUTOINCREMENT", strict: " STRICT",
            now: "CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)")
    }
}
