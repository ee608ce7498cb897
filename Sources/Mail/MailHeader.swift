import Foundation

/// How header values are written (RFC 5322, with RFC 2047 encoded words for anything beyond plain
/// ASCII), so that no value can end its header early or start another.
enum MailHeader {
    /// Header lines are folded to stay under this length, RFC 5322's recommendation.
    static let lineLimit = 78

    /// No control character (line breaks included) and no invalid Unicode.
    static func isSafe(_ value: String) -> Bool {
        value.unicodeScalars.allSatisfy { $0.value >= 0x20 && $0.value != 0x7F && !(0x80..<0xA0).contains($0.value) }
    }

    /// An unstructured value (Subject): as it is when it is printable ASCII and fits on the line,
    /// otherwise as encoded words, each on a line of its own.
    static func unstructured(_ value: String, name: String) -> String {
        let fits = name.utf8.count + 2 + value.utf8.count <= lineLimit
        if fits && value.utf8.allSatisfy({ (0x20..<0x7F).contains($0) }) && !value.contains("=?") { return value }
        return encodedWords(value).joined(separator: "\r\n ")
    }

    /// A display name as an RFC 5322 phrase: an atom sequence as it is, other ASCII quoted, and anything
    /// else as encoded words.
    static func phrase(_ value: String) -> String {
        let bytes = value.utf8
        if bytes.allSatisfy({ (0x20..<0x7F).contains($0) }) && !value.contains("=?") {
            let plainAtoms = bytes.allSatisfy { byte in
                byte == UInt8(ascii: " ") || !"()<>[]:;@\\,.\"".utf8.contains(byte)
            }
            if plainAtoms { return value }
            var quoted = "\""
            for character in value {
                if character == "\"" || character == "\\" { quoted.append("\\") }
                quoted.append(character)
            }
            return quoted + "\""
        }
        return encodedWords(value).joined(separator: " ")
    }

    /// RFC 2047 `B` encoded words (at most 75 characters each), split between characters, never inside one.
    static func encodedWords(_ value: String) -> [String] {
        // 39 bytes of UTF-8 become 52 characters of base64, 64 with `=?utf-8?B?` and `?=`: short enough
        // to follow `Subject: ` on the first line.
        let maximumBytes = 39
        var words: [String] = []
        var chunk: [UInt8] = []
        for character in value {
            let bytes = Array(String(character).utf8)
            if chunk.count + bytes.count > maximumBytes && !chunk.isEmpty {
                words.append("=?utf-8?B?" + Data(chunk).base64EncodedString() + "?=")
                chunk = []
            }
            chunk += bytes
        }
        if !chunk.isEmpty || words.isEmpty {
            words.append("=?utf-8?B?" + Data(chunk).base64EncodedString() + "?=")
        }
        return words
    }

    /// `Name <address>` or the bare address.
    static func mailbox(_ address: MailAddress) -> String {
        guard let name = address.displayName else { return address.address }
        return phrase(name) + " <" + address.address + ">"
    }

    /// An RFC 5322 date in UTC: `Sun, 06 Dec 2026 18:00:00 +0000`.
    static func date(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second, .weekday], from: date)
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ value: Int?) -> String {
            let value = value ?? 0
            return value < 10 ? "0\(value)" : "\(value)"
        }
        return "\(days[(parts.weekday ?? 1) - 1]), \(two(parts.day)) \(months[(parts.month ?? 1) - 1]) "
            + "\(parts.year ?? 1970) \(two(parts.hour)):\(two(parts.minute)):\(two(parts.second)) +0000"
    }
}
