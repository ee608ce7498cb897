/// One server reply (RFC 5321 §4.2): a three-digit code and one or more lines of text.
public struct SMTPReply: Sendable, Equatable {
    public let code: Int
    public let lines: [String]
}

/// Assembles replies from lines as they arrive. Pure and bounded, so a hostile server can neither
/// crash it nor make it hold unbounded text; fuzzed in MailTests.
public struct SMTPReplyParser: Sendable {
    /// RFC 5321 §4.5.3.1.5 limits a reply line to 512 octets; some servers write longer ones.
    public static let maximumLineLength = 2048
    public static let maximumLines = 128

    private var code: Int?
    private var lines: [String] = []

    public init() {}

    /// Takes one line without its line ending. Returns the reply this line completes, if it does.
    public mutating func consume(line: some Collection<UInt8>) throws(MailError) -> SMTPReply? {
        guard line.count >= 3, line.count <= Self.maximumLineLength else { throw MailError(.protocolViolation) }
        var index = line.startIndex
        var value = 0
        for position in 0..<3 {
            let byte = line[index]
            let lowest: UInt8 = position == 0 ? UInt8(ascii: "2") : UInt8(ascii: "0")
            let highest: UInt8 =
                position == 0 ? UInt8(ascii: "5") : (position == 1 ? UInt8(ascii: "5") : UInt8(ascii: "9"))
            guard (lowest...highest).contains(byte) else { throw MailError(.protocolViolation) }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
            index = line.index(after: index)
        }
        let continues: Bool
        if index == line.endIndex {
            continues = false
        } else if line[index] == UInt8(ascii: "-") || line[index] == UInt8(ascii: " ") {
            continues = line[index] == UInt8(ascii: "-")
            index = line.index(after: index)
        } else {
            throw MailError(.protocolViolation)
        }
        if let code, code != value { throw MailError(.protocolViolation) }
        guard lines.count < Self.maximumLines else { throw MailError(.protocolViolation) }
        code = value
        lines.append(String(decoding: line[index...], as: UTF8.self))
        guard !continues else { return nil }
        let reply = SMTPReply(code: value, lines: lines)
        code = nil
        lines = []
        return reply
    }
}
