import Foundation
import Testing

@testable import Privacy

@Suite("Data-subject request rules")
struct LifecycleTests {
    func date(_ text: String) -> Date { ISO8601DateFormatter().date(from: text)! }

    @Test func gdprIsOneCalendarMonthExtendableByTwo() {
        let due = Deadlines.due(.gdpr, receivedAt: date("2026-01-31T10:00:00Z"))
        #expect(due == date("2026-02-28T10:00:00Z"))
        #expect(Deadlines.extended(.gdpr, dueAt: due) == date("2026-04-28T10:00:00Z"))
    }

    @Test func ccpaIsFortyFiveDaysExtendableByFortyFive() {
        let due = Deadlines.due(.ccpa, receivedAt: date("2026-11-25T12:00:00Z"))
        #expect(due == date("2027-01-09T12:00:00Z"))
        #expect(Deadlines.extended(.ccpa, dueAt: due) == date("2027-02-23T12:00:00Z"))
    }

    @Test func kindsBelongToTheirLaw() {
        #expect(RequestKind.allCases.filter { $0.regime == .gdpr }.count == 6)
        #expect([RequestKind.know, .delete, .correct, .optOut].allSatisfy { $0.regime == .ccpa })
    }

    @Test func theLifecycleMovesForwardOnlyAndRejectionEndsIt() {
        let allowed = RequestStatus.allCases.flatMap { from in
            RequestStatus.allCases.filter { from.allows($0) }.map { "\(from.rawValue)→\($0.rawValue)" }
        }
        #expect(
            Set(allowed) == [
                "received→verified", "verified→in_progress", "in_progress→completed", "received→rejected",
                "verified→rejected", "in_progress→rejected",
            ])
    }
}
