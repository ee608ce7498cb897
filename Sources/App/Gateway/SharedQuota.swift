import Foundation
import Synchronization

/// Fixed-window request limits that hold across every replica sharing one database.
///
/// The database keeps the only count per key and window. A replica does not ask it on every request:
/// it leases part of the window's quota in one atomic update and spends it locally. A lease never
/// grants more than the window has left, so all replicas together admit at most `limit` per window,
/// exactly. The price is the other way round: quota one replica has leased and not spent is
/// unavailable to the others until the window ends. Leases start at one request and double while a
/// key keeps coming back to the same replica, up to `limit / 16`, so a client spread over many
/// replicas strands little, and a busy one costs a few round trips a window. Once the database says
/// a window is spent, this replica refuses that key without asking again.
///
/// A fixed window lets a client spend up to twice the limit across a window boundary; a limit is a
/// brake on abuse, not a billing meter, and that is the usual trade for a count the database can
/// keep cheaply. Memory is capped: forgetting a key only forfeits its unspent lease.
final class SharedQuota: Sendable {
    struct Decision: Equatable {
        var allowed: Bool
        /// Requests left in this window, as far as this replica knows.
        var remaining: Int
        /// Seconds until the window ends.
        var reset: Int
        /// Seconds until a request can succeed, when refused.
        var retryAfter: Int
    }

    /// Adds `hits` to the count of `key` in the window starting at `windowStart` and returns the new count.
    typealias Counter = @Sendable (_ key: String, _ windowStart: Int64, _ hits: Int) async throws -> Int

    private struct Lease {
        var windowStart: Int64
        var unspent = 0
        var spentEverywhere = false
        /// The window's count when last asked, at most `limit`.
        var counted = 0
        var nextLease = 1
        /// The request to the database now in flight; everyone short of quota waits for it, so a
        /// burst asks once rather than once per request. It answers false when the database failed.
        var asking: Task<Bool, Never>?
    }

    let limit: Int
    let window: Int
    /// The largest lease.
    let block: Int
    let maximumKeys: Int
    private let leases = Mutex<[String: Lease]>([:])
    private let counter: Counter
    private let clock: @Sendable () -> Double

    init(
        limit: Int, window: Int = 60, maximumKeys: Int = 100_000, counter: @escaping Counter,
        clock: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }
    ) {
        self.limit = limit
        self.window = window
        self.block = max(1, limit / 16)
        self.maximumKeys = maximumKeys
        self.counter = counter
        self.clock = clock
    }

    /// Keys remembered now.
    var count: Int { leases.withLock { $0.count } }

    func take(_ key: String) async -> Decision {
        while true {
            let seconds = Int64(clock())
            let windowStart = seconds - seconds % Int64(window)
            let reset = Int(windowStart + Int64(window) - seconds)
            enum Next {
                case decided(Decision)
                case wait(Task<Bool, Never>)
            }
            let next = leases.withLock { leases -> Next in
                var lease = leases[key].flatMap { $0.windowStart == windowStart ? $0 : nil }
                if var current = lease {
                    if current.unspent > 0 {
                        current.unspent -= 1
                        leases[key] = current
                        return .decided(allowed(current, reset: reset))
                    }
                    if current.spentEverywhere { return .decided(refused(reset: reset)) }
                    if let asking = current.asking { return .wait(asking) }
                } else {
                    forgetIfFull(&leases, windowStart: windowStart)
                    lease = Lease(windowStart: windowStart)
                }
                let want = lease?.nextLease ?? 1
                let asking = Task { await self.ask(key, windowStart: windowStart, want: want) }
                lease?.asking = asking
                leases[key] = lease
                return .wait(asking)
            }
            switch next {
            case .decided(let decision): return decision
            case .wait(let asking):
                // Fail open: when the database is down, whatever needs it fails anyway, and health
                // checks and cached pages should not fail for want of a counter.
                if await !asking.value { return Decision(allowed: true, remaining: 0, reset: reset, retryAfter: 0) }
            }
        }
    }

    /// Leases `want` of the window's quota and records what the database granted.
    private func ask(_ key: String, windowStart: Int64, want: Int) async -> Bool {
        let total = try? await counter(key, windowStart, want)
        leases.withLock { leases in
            guard var lease = leases[key], lease.windowStart == windowStart else { return }
            lease.asking = nil
            if let total {
                let granted = min(want, max(0, limit - (total - want)))
                lease.unspent += granted
                lease.spentEverywhere = granted < want
                lease.nextLease = min(block, want * 2)
                lease.counted = max(lease.counted, min(total, limit))
            }
            leases[key] = lease
        }
        return total != nil
    }

    private func allowed(_ lease: Lease, reset: Int) -> Decision {
        Decision(allowed: true, remaining: lease.unspent + limit - lease.counted, reset: reset, retryAfter: 0)
    }

    private func refused(reset: Int) -> Decision {
        Decision(allowed: false, remaining: 0, reset: reset, retryAfter: max(1, reset))
    }

    /// Drops past windows, then everything if still half full, so an attacker inventing keys costs
    /// amortised constant time per request and bounded memory.
    private func forgetIfFull(_ leases: inout [String: Lease], windowStart: Int64) {
        guard leases.count >= maximumKeys else { return }
        leases = leases.filter { $0.value.windowStart == windowStart }
        if leases.count >= maximumKeys / 2 { leases.removeAll(keepingCapacity: true) }
    }
}
