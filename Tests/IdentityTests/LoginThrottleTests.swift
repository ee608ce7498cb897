import Foundation
import Identity
import Testing

@Suite("Login throttle")
struct LoginThrottleTests {
    let policy = LoginThrottlePolicy.standard
    let start = Date(timeIntervalSince1970: 1_800_000_000)

    /// Claims `count` attempts at `date`, none of which succeeds.
    func fail(
        _ count: Int, from state: LoginThrottleState?, at date: Date
    ) -> (LoginThrottleState?, [LoginThrottleDecision]) {
        var state = state
        var decisions: [LoginThrottleDecision] = []
        for _ in 0..<count {
            let (next, decision) = policy.claim(state, now: date)
            state = next
            decisions.append(decision)
        }
        return (state, decisions)
    }

    @Test func fiveAttemptsProceedThenTheAccountWaits() {
        let (state, decisions) = fail(7, from: nil, at: start)
        #expect(decisions.prefix(5).allSatisfy { $0 == .proceed })
        #expect(decisions[5] == .refuse(retryAfter: 60))
        #expect(decisions[6] == .refuse(retryAfter: 60))
        // After the lock-out the owner may try again.
        let (_, later) = fail(1, from: state, at: start.addingTimeInterval(61))
        #expect(later == [.proceed])
    }

    @Test func eachLockoutDoublesUpToTheCap() {
        var state: LoginThrottleState?
        var now = start
        var lockouts: [Int] = []
        for _ in 0..<8 {
            let (next, _) = fail(5, from: state, at: now)
            state = next
            guard case .refuse(let wait) = policy.claim(state, now: now).1 else {
                Issue.record("expected a refusal")
                return
            }
            lockouts.append(wait)
            now = now.addingTimeInterval(TimeInterval(wait) + 1)
        }
        #expect(lockouts == [60, 120, 240, 480, 900, 900, 900, 900])
    }

    @Test func failuresOutsideTheWindowAreForgotten() {
        let (state, _) = fail(4, from: nil, at: start)
        let (_, decisions) = fail(4, from: state, at: start.addingTimeInterval(15 * 60))
        #expect(decisions.allSatisfy { $0 == .proceed })
    }

    @Test func keysDoNotRevealTheEmail() {
        let key = LoginThrottlePolicy.key(for: "alice@example.com")
        #expect(!key.contains("alice"))
        #expect(key == LoginThrottlePolicy.key(for: "alice@example.com"))
    }
}
