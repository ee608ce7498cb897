import Consent

extension Migration {
    /// The consent types upstream ZynConsent had, so clients of its routes find the purposes they
    /// already name.
    static let v02SeedPurposes = Version(number: 2, name: "seed_purposes") { dialect in
        let rows = Migration.seedPurposeRows(now: dialect.now)
        return [
            "INSERT INTO purposes (id, title, description, sale_or_sharing) VALUES \(rows.purposes)",
            "INSERT INTO purpose_notices (purpose_id, version, text, effective_at) VALUES \(rows.notices)",
        ]
    }

    /// The upstream consent types with their first notices, as SQL values for either backend. They come
    /// from `Purpose.seeded`, so editing that changes what a new database gets, never an existing one.
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
