/// An address mail can be sent to: ASCII `local@domain` as RFC 5321 takes it without the SMTPUTF8
/// extension, and an optional display name (any Unicode, encoded when the header is written).
/// Quoted local parts and address literals are refused: nothing QSPP sends needs them, and each is a
/// way to smuggle syntax into a command line or a header.
public struct MailAddress: Sendable, Hashable {
    public let address: String
    public let displayName: String?

    public init(_ address: String, displayName: String? = nil) throws(MailError) {
        guard Self.isValid(address) else { throw MailError(.invalidAddress) }
        if let displayName {
            guard displayName.count <= 200, MailHeader.isSafe(displayName) else { throw MailError(.invalidHeader) }
        }
        self.address = address
        self.displayName = displayName.flatMap { $0.isEmpty ? nil : $0 }
    }

    /// The part after `@`, for Message-IDs.
    public var domain: Substring { address[address.index(after: address.lastIndex(of: "@")!)...] }

    static func isValid(_ address: String) -> Bool {
        let bytes = Array(address.utf8)
        guard bytes.count <= 254, let at = bytes.lastIndex(of: UInt8(ascii: "@")) else { return false }
        let local = bytes[..<at]
        let domain = bytes[(at + 1)...]
        return isValidLocalPart(local) && isValidDomain(domain)
    }

    private static func isValidLocalPart(_ local: ArraySlice<UInt8>) -> Bool {
        guard (1...64).contains(local.count), local.first != dot, local.last != dot else { return false }
        var previous: UInt8 = 0
        for byte in local {
            guard isAtext(byte) || byte == dot, !(byte == dot && previous == dot) else { return false }
            previous = byte
        }
        return true
    }

    private static func isValidDomain(_ domain: ArraySlice<UInt8>) -> Bool {
        guard (1...253).contains(domain.count) else { return false }
        let labels = domain.split(separator: dot, omittingEmptySubsequences: false)
        return labels.allSatisfy { label in
            (1...63).contains(label.count) && label.first != hyphen && label.last != hyphen
                && label.allSatisfy { isLetterOrDigit($0) || $0 == hyphen }
        }
    }

    private static let dot = UInt8(ascii: ".")
    private static let hyphen = UInt8(ascii: "-")

    private static func isLetterOrDigit(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }

    /// RFC 5322 `atext`.
    private static func isAtext(_ byte: UInt8) -> Bool {
        isLetterOrDigit(byte) || "!#$%&'*+-/=?^_`{|}~".utf8.contains(byte)
    }
}
