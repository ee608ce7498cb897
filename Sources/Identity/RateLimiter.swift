import Foundation

/// A fixed-window counter per client address and route family, kept in the database so that every
/// replica counts against one limit.
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

    public init(repository: any IdentityRepository) {
        self.repository = repository
    }

    public func hit(_ scope: String, client: String, rule: Rule, now: Date = Date()) async throws {
        let seconds = Int64(now.timeIntervalSince1970)
        let window = Int64(rule.window)
        let windowStart = seconds - seconds % window
        let count = try await repository.countRateLimitHit(key: "\(scope):\(client)", windowStart: windowStart)
        if count > rule.limit {
            throw IdentityError.rateLimited(retryAfter: Int(windowStart + window - seconds))
        }
    }
}
