import Foundation
import Privacy
import Synchronization

/// `ErasureRepository` in memory, with the semantics of `SQLErasureRepository`: the first erasure of a
/// subject is recorded (with the next ledger sequence) and destroys what this repository holds for
/// them; erasing again changes nothing and returns the first erasure's time.
///
/// The data keys, data records and values a database would delete are modelled as opaque items a test
/// registers with `storeKey(subject:)`; `keys(of:)` shows whether any survived. The other in-memory
/// repositories that seal personal data (`InMemoryIdentityRepository`) seal it under these keys with
/// `writingKey(subject:)`, and read it only while `holds(key:)`, so an erasure makes it unreadable as
/// crypto-shredding does.
public final class InMemoryErasureRepository: ErasureRepository, Sendable {
    private struct State {
        var erased: [String: (at: Date, requestID: UUID?)] = [:]
        /// Every data key of each subject that still exists, oldest first.
        var keys: [String: [UUID]] = [:]
        var ledger: [String] = []
    }

    private let state = Mutex(State())

    public init() {}

    /// Registers one more data key (or record) of `subject`, as a write that sealed something would.
    @discardableResult
    public func storeKey(subject: String) -> UUID {
        let key = UUID()
        state.withLock { $0.keys[subject, default: []].append(key) }
        return key
    }

    /// The data key a write for `subject` seals under, as the vault picks it: the newest key the subject
    /// still has, or else a new one (so the first write after an erasure seals under a key of its own).
    public func writingKey(subject: String) -> UUID {
        state.withLock { state in
            if let newest = state.keys[subject]?.last { return newest }
            let key = UUID()
            state.keys[subject] = [key]
            return key
        }
    }

    /// Whether a data key still exists: an erasure destroys every key of its subject.
    public func holds(key: UUID) -> Bool {
        state.withLock { state in state.keys.values.contains { $0.contains(key) } }
    }

    /// How many data keys (or records) of `subject` are still held.
    public func keys(of subject: String) -> Int {
        state.withLock { $0.keys[subject]?.count ?? 0 }
    }

    /// The references of the ledger entries written, oldest first (`erasure:<subject>`).
    public var ledgerReferences: [String] {
        state.withLock { $0.ledger }
    }

    public func shred(subject: String, requestID: UUID?, at date: Date) async throws -> Date {
        state.withLock { state in
            if let existing = state.erased[subject] { return existing.at }
            state.erased[subject] = (at: date, requestID: requestID)
            state.keys[subject] = nil
            state.ledger.append("erasure:\(subject)")
            return date
        }
    }

    public func erasure(of subject: String) async throws -> Date? {
        state.withLock { $0.erased[subject]?.at }
    }
}
