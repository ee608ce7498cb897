import Synchronization

/// Runs `operation`, giving up with ``StorageError/unavailable`` once `timeout` has passed.
///
/// A database that is down makes a connection pool wait for a connection indefinitely; a
/// deadline turns that wait into a prompt 503 for the caller. The answer comes at the deadline even
/// when the operation does not honour cancellation (a driver call on a connection that died
/// mid-statement, say): the operation is cancelled and left to finish on its own. A task group would
/// wait for it, and one such call then held up every write queued behind it (a PostgreSQL restart
/// under load stalled consent writes for good).
///
/// Cancelling the caller cancels the operation, as it would a child task, and the operation's own
/// answer (or the deadline) is still what the caller gets.
func withDeadline<T: Sendable>(
    _ timeout: Duration, _ operation: @escaping @Sendable () async throws -> T
) async throws -> T {
    let race = DeadlineRace<T>()
    return try await withTaskCancellationHandler {
        try await withCheckedThrowingContinuation { continuation in
            race.start(continuation, timeout: timeout, operation: operation)
        }
    } onCancel: {
        race.cancelOperation()
    }
}

/// Whichever of the operation and the timer finishes first answers.
private final class DeadlineRace<T: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<T, any Error>?
        var work: Task<Void, Never>?
        var timer: Task<Void, Never>?
        var cancelled = false
        var finished = false
    }
    private let state = Mutex(State())

    func start(
        _ continuation: CheckedContinuation<T, any Error>, timeout: Duration,
        operation: @escaping @Sendable () async throws -> T
    ) {
        state.withLock { $0.continuation = continuation }
        let work = Task {
            let result: Result<T, any Error>
            do { result = .success(try await operation()) } catch { result = .failure(error) }
            self.finish(result)
        }
        let timer = Task {
            guard (try? await Task.sleep(for: timeout)) != nil else { return }
            self.finish(.failure(StorageError.unavailable))
        }
        let (finished, cancelled) = state.withLock { state in
            if !state.finished {
                state.work = work
                state.timer = timer
            }
            return (state.finished, state.cancelled)
        }
        if finished { timer.cancel() }
        if finished || cancelled { work.cancel() }
    }

    func cancelOperation() {
        let work = state.withLock { state in
            state.cancelled = true
            return state.work
        }
        work?.cancel()
    }

    private func finish(_ result: Result<T, any Error>) {
        let (continuation, work, timer) = state.withLock { state in
            guard !state.finished else {
                return (nil, nil, nil) as (CheckedContinuation<T, any Error>?, Task<Void, Never>?, Task<Void, Never>?)
            }
            state.finished = true
            defer {
                state.continuation = nil
                state.work = nil
                state.timer = nil
            }
            return (state.continuation, state.work, state.timer)
        }
        work?.cancel()
        timer?.cancel()
        continuation?.resume(with: result)
    }
}
