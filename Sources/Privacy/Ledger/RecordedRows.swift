import Foundation

/// The tables whose rows the ledger records (consent decisions, the auth audit log, request
/// transitions), read back so that verification can bind each row to its entry in both directions:
/// every entry to a row that still says what the entry recorded, and every row to an entry.
public protocol RecordedRows: Sendable {
    /// The entry types (the part of a reference before `:`) whose entries each record one row.
    var boundTypes: Set<String> { get }
    /// Whether each of `entries` still describes its row, in the order given. A row may match in more
    /// than one form (one row per reference, but every transition of a request shares its `dsr:`
    /// reference); it matches when any of them is the entry's content.
    func match(_ entries: ArraySlice<LedgerEntry>) async throws -> [RowMatch]
    /// In one snapshot: the ledger's size, and how many rows of each bound type there are.
    func census() async throws -> RowCensus
    /// Up to `limit` references of `type` rows that no ledger entry records.
    func unrecorded(type: String, limit: Int) async throws -> [String]
}

/// What the stored rows say about one entry.
public enum RowMatch: Sendable, Equatable {
    /// Entries of this type record no row.
    case unbound
    /// No row of the entry's reference is stored.
    case absent
    case matches
    /// A row is stored, but it no longer says what the entry recorded, or it names another entry.
    case differs
}

public struct RowCensus: Sendable, Equatable {
    public var ledgerSize: Int64
    public var rows: [String: Int64]

    public init(ledgerSize: Int64, rows: [String: Int64]) {
        self.ledgerSize = ledgerSize
        self.rows = rows
    }
}

/// Binds entries to rows as verification reads the ledger in order. Audit rows and answered requests
/// may be gone for a reason: retention deletes them, and records up to when in a later `retention`
/// entry; a missing row of those types is accounted for by such a purge, and by nothing else.
struct RowBinding {
    /// The retention purge that may take each type's rows, by the prefix of its ledger reference.
    static let purges = ["auth": "retention:auth_events:", "dsr": "retention:closed_requests:"]

    let types: Set<String>
    let census: RowCensus
    private(set) var problem: LedgerProblem?
    private var matched: [String: Int64] = [:]
    private var missing: [(type: String, sequence: Int64, occurredAt: Int64)] = []
    private var purged: [(prefix: String, sequence: Int64, cutoff: Int64)] = []

    init(types: Set<String>, census: RowCensus) {
        self.types = types
        self.census = census
    }

    /// The entries whose rows must be looked up: those the census counted rows for.
    func counted(_ entries: [LedgerEntry]) -> ArraySlice<LedgerEntry> {
        entries.prefix(while: { $0.sequence <= census.ledgerSize })
    }

    /// `match` is what ``RecordedRows/match(_:)`` said of the entry; entries beyond the census have none.
    mutating func check(_ entry: LedgerEntry, match: RowMatch?) {
        guard let match, entry.sequence <= census.ledgerSize else { return }
        if entry.reference.utf8.starts(with: "retention:".utf8), let cutoff = Self.field("cutoff", of: entry),
            let prefix = Self.purges.values.first(where: entry.reference.hasPrefix)
        {
            purged.append((prefix, entry.sequence, cutoff))
        }
        let type = Self.type(of: entry.reference)
        switch match {
        case .unbound: return
        case .absent:
            if Self.purges[type] != nil, let occurredAt = Self.field("occurred_at", of: entry) {
                missing.append((type, entry.sequence, occurredAt))
            } else {
                report(entry.sequence, "the \(type) row this entry records (\(entry.reference)) is missing")
            }
        case .differs: report(entry.sequence, "the stored \(type) row differs from what this entry recorded")
        case .matches: matched[type, default: 0] += 1
        }
    }

    /// Checks what only the whole pass shows: audit rows gone without a purge, and rows no entry records.
    mutating func finish(_ records: any RecordedRows) async throws {
        for gone in missing
        where !purged.contains(where: {
            $0.prefix == Self.purges[gone.type] && $0.sequence > gone.sequence && $0.cutoff > gone.occurredAt
        }) {
            report(gone.sequence, "the \(gone.type) row this entry records is missing, and no retention purge took it")
            break
        }
        for type in types.sorted() where census.rows[type, default: 0] != matched[type, default: 0] {
            let unrecorded = try await records.unrecorded(type: type, limit: 1)
            let named = unrecorded.first.map { " (\($0))" } ?? ""
            report(
                census.ledgerSize + 1,
                "\(census.rows[type, default: 0]) \(type) rows, but \(matched[type, default: 0]) recorded in the ledger: "
                    + "a row no entry records\(named)")
        }
    }

    private mutating func report(_ sequence: Int64, _ reason: String) {
        if problem == nil || sequence < problem!.sequence {
            problem = LedgerProblem(sequence: sequence, reason: reason)
        }
    }

    static func type(of reference: String) -> String {
        let utf8 = reference.utf8
        return String(Substring(utf8[..<(utf8.firstIndex(of: UInt8(ascii: ":")) ?? utf8.endIndex)]))
    }

    private static func field(_ name: String, of entry: LedgerEntry) -> Int64? {
        (try? JSONDecoder().decode([String: String].self, from: entry.content))?[name].flatMap { Int64($0) }
    }
}
