import Foundation
import Privacy
import Synchronization

/// `ErasureRepository` in memory, with the semantics of `SQLErasureRepository`: the first erasure of a
/// subject is recorded (with the next ledger sequence) and destroys what this repository holds for
/// them; erasing again changes nothing and returns the first erasure's time.
///
/// The data keys, data records and values a database would delete are modelled as opaque items a test
/// registers with `storeKey(subject:)`; `keys(of:)` shows whether any survived.
public final class InMemoryErasureRepository: ErasureRepository, Sendable {
    private struct State {
        var erased: [String: (at: Date, requestID: UUID?)] = [:]
        var keys: [String: Int] = [:]
        var ledger: [String] = []
    }

    private let state = Mutex(State())

    public init() {}

    /// Registers one more data key (or record) of `subject`, as a write that sealed something would.
    public func storeKey(subject: String) {
        state.withLock { $0.keys[subject, default: 0] += 1 }
    }

    /// How many data keys (or records) of `subject` are still held.
    public func keys(of subject: String) -> Int {
        state.withLock { $0.keys[subject] ?? 0 }
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
