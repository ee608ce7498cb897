import Consent

/// One versioned schema change. Each backend lists its own SQL for the same versions.
struct Migration: Sendable {
    let version: Int
    let name: String
    let statements: [String]
}

extension Migration {
    /// The five upstream consent types with their first notices, as SQL values for either backend.
    static func seedPurposeRows(now: String) -> (purposes: String, notices: String) {
        func quoted(_ text: String) -> String { "'" + text.replacingOccurrences(of: "'", with: "''") + "'" }
        let purposes = Purpose.seeded.map { seed in
            "(\(quoted(seed.id)), \(quoted(seed.title)), \(quoted(seed.notice)), \(seed.isSaleOrSharing ? "TRUE" : "FALSE"))"
        }.joined(separator: ", ")
        let notices = Purpose.seeded.map { seed in "(\(quoted(seed.id)), 1, \(quoted(seed.notice)), \(now))" }
            .joined(separator: ", ")
        return (purposes, notices)
    }
}
