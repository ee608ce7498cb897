public import Foundation

extension Date {
    /// Both storage backends keep microseconds; rounding on creation makes a value read back equal to the one written.
    public var roundedToMicroseconds: Date { Date(microsecondsSince1970: microsecondsSince1970) }

    public var microsecondsSince1970: Int64 { Int64((timeIntervalSince1970 * 1_000_000).rounded()) }

    public init(microsecondsSince1970 micros: Int64) {
        self.init(timeIntervalSince1970: Double(micros) / 1_000_000)
    }
}
