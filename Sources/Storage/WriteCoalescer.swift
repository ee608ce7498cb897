import Synchronization

/// Group commit: concurrent writes that arrive while a transaction is being flushed are gathered
/// and committed together in the next transaction.
///
/// One commit (one WAL flush, one round trip) then serves many requests, which is what lets a
/// durable write path keep pace with the database's own insert rate. Each caller still waits for
/// the commit that contains its write: nothing is acknowledged before it is durable.
///
/// One flush runs at a time: while it commits, the next batch gathers. (Two or more overlapping
/// flushes measured slower on PostgreSQL: smaller batches, more transactions. SQLite has one writer.)
/// There is no background task: a caller that finds no flush running starts one, which drains the
/// queue until it is empty.
final class WriteCoalescer<Unit: Sendable, Outcome: Sendable>: Sendable {
    /// Commits `units` in one transaction. The result has one entry per unit, in order; a whole-batch
    /// failure is thrown.
    typealias Flush = @Sendable ([Unit]) async throws -> [Result<Outcome, any Error>]

    private struct Pending {
        let unit: Unit
        let continuation: CheckedContinuation<Outcome, any Error>
    }

    private struct State {
        var queue: [Pending] = []
        var flushing = false
    }

    private let state = Mutex(State())
    private let flush: Flush
    private let maximumBatch: Int
    /// A failure that retrying the same unit alone cannot fix.
    private let isSystemic: @Sendable (any Error) -> Bool

    init(maximumBatch: Int, isSystemic: @escaping @Sendable (any Error) -> Bool, flush: @escaping Flush) {
        self.maximumBatch = maximumBatch
        self.isSystemic = isSystemic
        self.flush = flush
    }

    func submit(_ unit: Unit) async throws -> Outcome {
        try await withCheckedThrowingContinuation { continuation in
            let startsFlusher = state.withLock { state in
                state.queue.append(Pending(unit: unit, continuation: continuation))
                guard !state.flushing else { return false }
                state.flushing = true
                return true
            }
            if startsFlusher { Task { await self.drain() } }
        }
    }

    private func drain() async {
        while let batch = nextBatch() {
            await commit(batch)
        }
    }

    private func nextBatch() -> [Pending]? {
        state.withLock { state in
            guard !state.queue.isEmpty else {
                state.flushing = false
                return nil
            }
            let count = min(maximumBatch, state.queue.count)
            let batch = Array(state.queue.prefix(count))
            state.queue.removeFirst(count)
            return batch
        }
    }

    private func commit(_ batch: [Pending]) async {
        do {
            let results = try await flush(batch.map(\.unit))
            precondition(results.count == batch.count, "a flush must answer every unit")
            for (pending, result) in zip(batch, results) { pending.continuation.resume(with: result) }
        } catch  where batch.count > 1 && !isSystemic(error) {
            // One bad unit must not fail its neighbours: commit each alone.
            for pending in batch { await commit([pending]) }
        } catch {
            for pending in batch { pending.continuation.resume(throwing: error) }
        }
    }
}
