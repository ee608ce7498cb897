import Foundation

/// The person a consent decision belongs to, as the integrating system names them.
///
/// Subject ids arrive in URL paths and JSON bodies, so they are validated on construction
/// and never trusted as-is: 1 to 128 characters from a conservative alphabet.
public struct SubjectID: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String
    public static let maximumLength = 128

    public init(validating rawValue: String) throws(ConsentError) {
        guard Self.isValid(rawValue) else { throw .invalidSubjectID }
        self.rawValue = rawValue
    }

    public var description: String { rawValue }

    static func isValid(_ value: String) -> Bool {
        let utf8 = value.utf8
        guard !utf8.isEmpty, utf8.count <= maximumLength else { return false }
        return utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"):
                true
            case UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "@"), UInt8(ascii: ":"):
                true
            default: false
            }
        }
    }
}

/// A purpose's stable machine name, such as `marketing`: lower-case snake case, 1 to 64 characters.
public struct PurposeID: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let rawValue: String
    public static let maximumLength = 64

    public init(validating rawValue: String) throws(ConsentError) {
        guard Self.isValid(rawValue) else { throw .invalidPurposeID }
        self.rawValue = rawValue
    }

    public var description: String { rawValue }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }

    static func isValid(_ value: String) -> Bool {
        let utf8 = Array(value.utf8)
        guard let first = utf8.first, utf8.count <= maximumLength,
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(first)
        else { return false }
        return utf8.allSatisfy { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "_")
        }
    }
}
