import Foundation

/// Statutory deadlines. GDPR Art. 12(3): one month, extendable once by two further months. CCPA
/// §1798.130: 45 days, extendable once by 45 more. Months are calendar months in UTC, so a request
/// received on 31 January is due on the last day of February.
public enum Deadlines {
    private static let calendar: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar
    }()

    public static func due(_ regime: Regime, receivedAt: Date) -> Date {
        switch regime {
        case .gdpr: calendar.date(byAdding: .month, value: 1, to: receivedAt)!
        case .ccpa: calendar.date(byAdding: .day, value: 45, to: receivedAt)!
        }
    }

    public static func extended(_ regime: Regime, dueAt: Date) -> Date {
        switch regime {
        case .gdpr: calendar.date(byAdding: .month, value: 2, to: dueAt)!
        case .ccpa: calendar.date(byAdding: .day, value: 45, to: dueAt)!
        }
    }
}
