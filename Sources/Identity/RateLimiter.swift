import Crypto
import Foundation
import PQCrypto

/// Fixed-window counters per client address or user, kept in the database so that every replica
/// counts against one limit. Counter keys are stored as an HMAC under a key derived from the master
/// key, because they hold client addresses, and an unkeyed hash of an IPv4 address is easy to reverse.
public struct RateLimiter: Sendable {
    public struct Rule: Sendable, Equatable {
        public var limit: Int
        public var window: Int

        public init(limit: Int, window: Int) {
            self.limit = limit
            self.window = window
        }
    }

    let repository: any IdentityRepository
    let blindingKey: SymmetricKey

    public init(repository: any IdentityRepository, blindingKey: SymmetricKey) {
        self.repository = repository
        self.blindingKey = blindingKey
    }

    /// Adds `hits` to `key`'s count in the window starting at `windowStart`; returns the new count.
    public func count(_ key: String, windowStart: Int64, hits: Int) async throws -> Int {
        let blinded = Hex.encode(HMAC<SHA256>.authenticationCode(for: Data(key.utf8), using: blindingKey))
        return try await repository.countRateLimitHits(key: blinded, windowStart: windowStart, hits: hits)
    }

    public func hit(_ scope: String, client: String, rule: Rule, now: Date = Date()) async throws {
        let seconds = Int64(now.timeIntervalSince1970)
        let window = Int64(rule.window)
        let windowStart = seconds - seconds % window
        let count = try await count("\(scope):\(client)", windowStart: windowStart, hits: 1)
        if count > rule.limit {
            throw IdentityError.rateLimited(retryAfter: Int(windowStart + window - seconds))
        }
    }
}
