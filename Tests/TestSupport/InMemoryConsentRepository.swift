import Consent
import Foundation
import Synchronization

/// A write an in-memory repository refuses because the SQL schema would: a foreign key, a unique or a
/// check constraint. Nothing is written when it is thrown.
public struct InMemoryConstraintViolation: Error, Equatable, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// `ConsentRepository` in memory, with the semantics of `SQLiteConsentRepository`: an append-only log
/// numbered by a sequence, idempotency claims stored with the events they wrote (a retry with the same
/// fingerprint replays them, another fingerprint is refused), current state as the newest event per
/// known purpose, and history newest first in pages with cursors.
public final class InMemoryConsentRepository: ConsentRepository, Sendable {
    private struct ClaimKey: Hashable {
        var scope: String
        var key: String
    }

    private struct StoredClaim {
        var fingerprint: String
        var eventIDs: [UUID]
    }

    private struct State {
        var purposes: [PurposeID: Purpose] = [:]
        /// The log, in sequence order: `consent_events.seq` with its event.
        var events: [(sequence: Int64, event: ConsentEvent)] = []
        var nextSequence: Int64 = 1
        var nextLedgerSequence: Int64 = 1
        var claims: [ClaimKey: StoredClaim] = [:]
    }

    private let state = Mutex(State())

    /// With `seeded`, the five upstream purposes are present with notice 1 in effect from `seededAt`,
    /// as the first migrations leave a new database.
    public init(seeded: Bool = true, seededAt: Date = Date()) {
        guard seeded else { return }
        state.withLock { state in
            for seed in Purpose.seeded {
                guard let id = try? PurposeID(validating: seed.id) else { continue }
                state.purposes[id] = Purpose(
                    id: id, title: seed.title, description: seed.notice, isSaleOrSharing: seed.isSaleOrSharing,
                    lawfulBasis: .consent,
                    notices: [Notice(version: 1, text: seed.notice, url: nil, effectiveAt: seededAt)])
            }
        }
    }

    /// Every event stored, in log order (for assertions that nothing else was written).
    public var storedEvents: [ConsentEvent] {
        state.withLock { $0.events.map(\.event) }
    }

    // MARK: Purposes

    public func allPurposes() async throws -> [Purpose] {
        state.withLock { $0.purposes.values.sorted { $0.id < $1.id } }
    }

    public func insertPurpose(_ purpose: Purpose) async throws {
        try state.withLock { state in
            guard state.purposes[purpose.id] == nil else { throw ConsentError.purposeExists(purpose.id) }
            guard !purpose.notices.isEmpty else {
                throw InMemoryConstraintViolation("a purpose needs at least one notice")
            }
            guard Set(purpose.notices.map(\.version)).count == purpose.notices.count,
                purpose.notices.allSatisfy({ $0.version > 0 && ($0.text != nil || $0.url != nil) })
            else { throw InMemoryConstraintViolation("purpose_notices: invalid notice") }
            state.purposes[purpose.id] = purpose
        }
    }

    public func updatePurpose(
        id: PurposeID, title: String, description: String, isSaleOrSharing: Bool, lawfulBasis: LawfulBasis
    ) async throws {
        state.withLock { state in
            // Like the UPDATE: no such purpose changes nothing.
            guard var purpose = state.purposes[id] else { return }
            purpose.title = title
            purpose.description = description
            purpose.isSaleOrSharing = isSaleOrSharing
            purpose.lawfulBasis = lawfulBasis
            state.purposes[id] = purpose
        }
    }

    public func appendNotice(
        purposeID: PurposeID, text: String?, url: String?, effectiveAt: Date
    ) async throws
        -> Notice
    {
        try state.withLock { state in
            guard let purpose = state.purposes[purposeID] else {
                throw InMemoryConstraintViolation("purpose_notices.purpose_id references no purpose")
            }
            guard text != nil || url != nil else {
                throw InMemoryConstraintViolation("purpose_notices: a notice needs a text or a URL")
            }
            let notice = Notice(
                version: (purpose.notices.map(\.version).max() ?? 0) + 1, text: text, url: url,
                effectiveAt: effectiveAt)
            state.purposes[purposeID] = Purpose(
                id: purpose.id, title: purpose.title, description: purpose.description,
                isSaleOrSharing: purpose.isSaleOrSharing, lawfulBasis: purpose.lawfulBasis,
                notices: purpose.notices + [notice])
            return notice
        }
    }

    // MARK: Events

    public func append(_ events: [ConsentEvent], claim: IdempotencyClaim?) async throws -> AppendOutcome {
        try state.withLock { state in
            if let claim {
                let key = ClaimKey(scope: claim.scope, key: claim.key)
                if let existing = state.claims[key] {
                    guard existing.fingerprint == claim.fingerprint else { throw ConsentError.idempotencyKeyReused }
                    let ids = Set(existing.eventIDs)
                    return .replayed(state.events.filter { ids.contains($0.event.id) }.map(\.event))
                }
            }
            // Check every constraint before writing anything: the append is all or nothing.
            var seen = Set(state.events.map(\.event.id))
            for event in events {
                guard seen.insert(event.id).inserted else {
                    throw InMemoryConstraintViolation("consent_events.id must be unique")
                }
                guard state.purposes[event.purposeID]?.notice(version: event.noticeVersion) != nil else {
                    throw InMemoryConstraintViolation("consent_events references no such purpose notice")
                }
            }
            var recorded: [ConsentEvent] = []
            recorded.reserveCapacity(events.count)
            for event in events {
                var stored = event
                stored.ledgerSequence = state.nextLedgerSequence
                state.nextLedgerSequence += 1
                state.events.append((sequence: state.nextSequence, event: stored))
                state.nextSequence += 1
                recorded.append(stored)
            }
            if let claim {
                state.claims[ClaimKey(scope: claim.scope, key: claim.key)] = StoredClaim(
                    fingerprint: claim.fingerprint, eventIDs: events.map(\.id))
            }
            return .recorded(recorded)
        }
    }

    public func latestEvents(subjectID: SubjectID) async throws -> [ConsentEvent] {
        state.withLock { state in
            var newest: [PurposeID: (sequence: Int64, event: ConsentEvent)] = [:]
            for entry in state.events where entry.event.subjectID == subjectID {
                newest[entry.event.purposeID] = entry
            }
            return newest.filter { state.purposes[$0.key] != nil }.values
                .sorted { $0.sequence < $1.sequence }.map(\.event)
        }
    }

    public func event(id: UUID) async throws -> ConsentEvent? {
        state.withLock { state in state.events.first { $0.event.id == id }?.event }
    }

    public func history(subjectID: SubjectID, after cursor: HistoryCursor?, limit: Int) async throws -> HistoryPage {
        state.withLock { state in
            let before = cursor?.sequence ?? Int64.max
            let rows = state.events.reversed()
                .filter { $0.event.subjectID == subjectID && $0.sequence < before }
                .prefix(max(0, limit) + 1)
            let visible = Array(rows.prefix(max(0, limit)))
            let next = rows.count > limit ? visible.last.map { HistoryCursor(sequence: $0.sequence) } : nil
            return HistoryPage(events: visible.map(\.event), next: next)
        }
    }

    public func ping() async throws {}
}
