import Foundation
import Synchronization

/// A clock a test moves by hand, for rules about time (expiry, backoff) without waiting.
public final class TestClock: Sendable {
    private let current = Mutex(Date())

    public init() {}

    public var now: Date { current.withLock { $0 } }

    public func advance(_ seconds: TimeInterval) { current.withLock { $0 = $0.addingTimeInterval(seconds) } }
}
