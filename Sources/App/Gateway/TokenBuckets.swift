import Foundation
import Synchronization

/// Token buckets by key, in memory, with a hard cap on how many keys are remembered.
///
/// A bucket holds up to `limit` tokens and refills at `limit` per `window`; each request takes one.
/// Keys live in two generations: when the current one fills half the cap it becomes the previous
/// one and the old previous one is dropped, so memory never exceeds `maximumKeys` buckets however
/// many keys an attacker invents. A dropped bucket comes back full, which only ever favours a key
/// quiet long enough to be pushed out. Sharded by key hash, so requests rarely wait on one another.
final class TokenBuckets: Sendable {
    struct Decision: Equatable {
        var allowed: Bool
        /// Whole tokens left after this request.
        var remaining: Int
        /// Seconds until the bucket is full again.
        var reset: Int
        /// Seconds until a token is available, when refused.
        var retryAfter: Int
    }

    private struct Bucket {
        var tokens: Double
        var updated: Double
    }

    private struct Shard {
        var current: [String: Bucket] = [:]
        var previous: [String: Bucket] = [:]
    }

    let limit: Int
    let window: Double
    let maximumKeys: Int
    /// A class, because an array cannot hold a `Mutex` itself.
    private final class Locked: Sendable {
        let shard = Mutex(Shard())
    }

    private let shards: [Locked]
    private let clock: @Sendable () -> Double

    init(
        limit: Int, window: Double = 60, maximumKeys: Int = 100_000,
        clock: @escaping @Sendable () -> Double = { ProcessInfo.processInfo.systemUptime }
    ) {
        self.limit = limit
        self.window = window
        self.maximumKeys = maximumKeys
        self.clock = clock
        shards = (0..<16).map { _ in Locked() }
    }

    /// Keys remembered now, across both generations.
    var count: Int {
        shards.reduce(0) { total, locked in total + locked.shard.withLock { $0.current.count + $0.previous.count } }
    }

    func take(_ key: String) -> Decision {
        let now = clock()
        let rate = Double(limit) / window
        let perShard = max(1, maximumKeys / shards.count / 2)
        var hasher = Hasher()
        hasher.combine(key)
        let locked = shards[Int(UInt(bitPattern: hasher.finalize()) % UInt(shards.count))]
        return locked.shard.withLock { shard in
            var bucket =
                shard.current[key] ?? shard.previous.removeValue(forKey: key)
                ?? Bucket(tokens: Double(limit), updated: now)
            bucket.tokens = min(Double(limit), bucket.tokens + (now - bucket.updated) * rate)
            bucket.updated = now
            let allowed = bucket.tokens >= 1
            if allowed { bucket.tokens -= 1 }
            if shard.current[key] == nil, shard.current.count >= perShard {
                shard.previous = shard.current
                shard.current = [:]
            }
            shard.current[key] = bucket
            return Decision(
                allowed: allowed, remaining: Int(bucket.tokens),
                reset: Int(((Double(limit) - bucket.tokens) / rate).rounded(.up)),
                retryAfter: allowed ? 0 : max(1, Int(((1 - bucket.tokens) / rate).rounded(.up))))
        }
    }
}
