import Consent
import Foundation

/// The steps of a consent group commit that differ between backends: their SQL and their binding.
/// What the steps are, their order and how each waiting write learns its outcome is decided once, in
/// ``ConsentGroupCommit``.
protocol ConsentWriteDialect: Sendable {
    associatedtype Connection: Sendable

    /// Runs `body` in one transaction.
    func transaction<T: Sendable>(_ body: @escaping @Sendable (Connection) async throws -> T) async throws -> T
    /// Runs `body`, which issues exactly one statement, atomically. A backend whose single statements
    /// are atomic on their own skips the BEGIN and COMMIT round trips.
    func statement<T: Sendable>(_ body: @escaping @Sendable (Connection) async throws -> T) async throws -> T
    /// Records `claim` for `eventIDs` unless its key is already taken, and says what the key holds.
    func claim(
        _ claim: IdempotencyClaim, eventIDs: String, on connection: Connection
    ) async throws
        -> ConsentGroupCommit.ClaimResult
    /// Stores the batch's data keys, ledger entries and events in one statement or in the caller's
    /// transaction; returns the events' ledger sequences in order.
    func insert(_ batch: AppendUnit.Batch, on connection: Connection) async throws -> [Int64]
    /// The stored events with these ids, in recording order, opened.
    func events(ids: [UUID]) async throws -> [ConsentEvent]
}

/// One group commit of consent writes, the same on every backend: idempotency claims first, then every
/// new event of the batch in a single insert, with each waiting write handed its own outcome.
enum ConsentGroupCommit {
    enum ClaimResult: Sendable { case claimed, replay([UUID]), mismatch }

    static func flush<Dialect: ConsentWriteDialect>(
        _ units: [AppendUnit], dialect: Dialect, vault: PersonalDataVault
    ) async throws -> [Result<AppendOutcome, any Error>] {
        // Without claims the batch is one statement; the ledger head's lock is then held only while that
        // statement runs and commits.
        if units.allSatisfy({ $0.claim == nil }) {
            let batch = AppendUnit.Batch(units)
            let sequences =
                batch.events.isEmpty
                ? [] : try await dialect.statement { connection in try await dialect.insert(batch, on: connection) }
            vault.confirm(batch.keys)
            let parts = units.indices.map { ($0, units[$0].events.count) }
            return try outcomes(AppendUnit.sequenced(batch.events, sequences), parts, count: units.count).map { $0! }
        }
        let (decided, replays, keys) = try await dialect.transaction { connection in
            var decided: [Result<AppendOutcome, any Error>?] = Array(repeating: nil, count: units.count)
            var replays: [Int: [UUID]] = [:]
            var fresh: [(index: Int, count: Int)] = []
            for (index, unit) in units.enumerated() {
                if let claim = unit.claim {
                    switch try await dialect.claim(claim, eventIDs: unit.eventIDList, on: connection) {
                    case .claimed: break
                    case .replay(let ids):
                        replays[index] = ids
                        continue
                    case .mismatch:
                        decided[index] = .failure(ConsentError.idempotencyKeyReused)
                        continue
                    }
                }
                fresh.append((index, unit.events.count))
            }
            let batch = AppendUnit.Batch(fresh.map { units[$0.index] })
            let sequences = batch.events.isEmpty ? [] : try await dialect.insert(batch, on: connection)
            let recorded = try outcomes(AppendUnit.sequenced(batch.events, sequences), fresh, count: units.count)
            for (index, outcome) in recorded.enumerated() where outcome != nil { decided[index] = outcome }
            return (decided, replays, batch.keys)
        }
        vault.confirm(keys)
        var results = decided
        for (index, ids) in replays { results[index] = .success(.replayed(try await dialect.events(ids: ids))) }
        return results.map { $0! }
    }

    /// Hands each write its slice of the sequenced events.
    private static func outcomes(
        _ sequenced: [ConsentEvent], _ parts: [(index: Int, count: Int)], count: Int
    ) throws -> [Result<AppendOutcome, any Error>?] {
        guard sequenced.count == parts.reduce(0, { $0 + $1.count }) else {
            throw StorageError.corrupted("ledger append")
        }
        var results: [Result<AppendOutcome, any Error>?] = Array(repeating: nil, count: count)
        var offset = 0
        for (index, length) in parts {
            results[index] = .success(.recorded(Array(sequenced[offset..<offset + length])))
            offset += length
        }
        return results
    }
}
