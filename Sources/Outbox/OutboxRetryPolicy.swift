public import Foundation

/// When a failed message is tried again: exponential backoff with full jitter, so replicas and
/// messages that failed together do not retry together, and dead after `maximumAttempts`.
public struct OutboxRetryPolicy: Sendable, Equatable {
    public var maximumAttempts: Int
    public var firstDelay: TimeInterval
    public var longestDelay: TimeInterval

    public init(maximumAttempts: Int = 10, firstDelay: TimeInterval = 30, longestDelay: TimeInterval = 3600) {
        self.maximumAttempts = maximumAttempts
        self.firstDelay = firstDelay
        self.longestDelay = longestDelay
    }

    /// When to try again after failed attempt number `attempt` (from 1), or nil when the message is dead.
    /// `unit` is a uniform draw from [0, 1).
    public func retryAt(after attempt: Int, permanent: Bool, now: Date, unit: Double) -> Date? {
        guard !permanent, attempt < maximumAttempts else { return nil }
        let ceiling = min(longestDelay, firstDelay * pow(2, Double(min(attempt - 1, 40))))
        // Half fixed, half random: never sooner than half the backoff, never in lockstep.
        return now.addingTimeInterval(ceiling / 2 + ceiling / 2 * unit)
    }
}
