import Foundation

/// Per-account brute-force protection. Attempts are counted *before* the password is checked, inside
/// one database transaction, so a storm of parallel logins cannot slip more guesses past the limit
/// than it allows (the race of GHSA-7h8m-vrxx-vr4m). The key is derived from the normalised email,
/// so unknown accounts are throttled exactly like real ones and the answer reveals nothing.
public struct LoginThrottlePolicy: Sendable, Equatable {
    public var maximumFailures: Int
    public var window: TimeInterval
    /// The first lock-out; each further one doubles, up to `maximumLockout`.
    public var baseLockout: TimeInterval
    /// The cap keeps an attacker from locking the owner out for ever.
    public var maximumLockout: TimeInterval

    public static let standard = LoginThrottlePolicy(
        maximumFailures: 5, window: 15 * 60, baseLockout: 60, maximumLockout: 15 * 60)

    public init(maximumFailures: Int, window: TimeInterval, baseLockout: TimeInterval, maximumLockout: TimeInterval) {
        self.maximumFailures = maximumFailures
        self.window = window
        self.baseLockout = baseLockout
        self.maximumLockout = maximumLockout
    }
}

public struct LoginThrottleState: Sendable, Equatable {
    public var attempts: Int
    public var windowStart: Date
    public var lockedUntil: Date?
    public var lockouts: Int

    public init(attempts: Int, windowStart: Date, lockedUntil: Date?, lockouts: Int) {
        self.attempts = attempts
        self.windowStart = windowStart
        self.lockedUntil = lockedUntil
        self.lockouts = lockouts
    }
}

public enum LoginThrottleDecision: Sendable, Equatable {
    case proceed
    case refuse(retryAfter: Int)
}

extension LoginThrottlePolicy {
    /// Claims one attempt. The attempt that reaches the limit may still proceed, but the lock is already
    /// set, so only its success (which clears the state) lifts it.
    public func claim(_ current: LoginThrottleState?, now: Date) -> (LoginThrottleState, LoginThrottleDecision) {
        var state = current ?? LoginThrottleState(attempts: 0, windowStart: now, lockedUntil: nil, lockouts: 0)
        if let lockedUntil = state.lockedUntil, lockedUntil > now {
            return (state, .refuse(retryAfter: max(1, Int(lockedUntil.timeIntervalSince(now).rounded(.up)))))
        }
        if now.timeIntervalSince(state.windowStart) >= window {
            state.attempts = 0
            state.windowStart = now
        }
        state.attempts += 1
        if state.attempts >= maximumFailures {
            let lockout = min(maximumLockout, baseLockout * pow(2, Double(min(state.lockouts, 30))))
            state.lockedUntil = now.addingTimeInterval(lockout)
            state.lockouts += 1
            state.attempts = 0
            state.windowStart = now
        }
        return (state, .proceed)
    }

    /// The key under which an email's attempts are counted.
    public static func key(for email: String) -> String {
        "login:" + OpaqueSecret.digest(email)
    }
}
