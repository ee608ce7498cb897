import Synchronization

/// Stops the gateway from queueing requests behind an upstream that is down. After `threshold`
/// failures in a row the circuit opens, and requests are refused at once for `cooldown`; then one
/// trial request is let through, and its outcome closes the circuit or opens it for another cooldown.
/// A failure is a transport failure (refused, reset, timed out), never an HTTP status: an upstream
/// that answers, even with a 503, is up.
final class CircuitBreaker: Sendable {
    enum State: Equatable { case closed(failures: Int), open(until: ContinuousClock.Instant), halfOpen }

    let threshold: Int
    let cooldown: Duration
    private let state = Mutex(State.closed(failures: 0))

    init(threshold: Int = 5, cooldown: Duration = .seconds(5)) {
        self.threshold = threshold
        self.cooldown = cooldown
    }

    /// Whether a request may go to the upstream now; when not, how long until the next trial.
    func permit(now: ContinuousClock.Instant = .now) -> Duration? {
        state.withLock { state in
            switch state {
            case .closed: return nil
            case .halfOpen: return cooldown  // The trial is still out.
            case .open(let until):
                guard now >= until else { return now.duration(to: until) }
                state = .halfOpen
                return nil
            }
        }
    }

    func recordSuccess() {
        state.withLock { $0 = .closed(failures: 0) }
    }

    func recordFailure(now: ContinuousClock.Instant = .now) {
        state.withLock { state in
            switch state {
            case .closed(let failures) where failures + 1 < threshold: state = .closed(failures: failures + 1)
            case .closed, .halfOpen, .open: state = .open(until: now + cooldown)
            }
        }
    }

    var current: State { state.withLock { $0 } }
}
