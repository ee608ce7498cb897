import Foundation
import Testing

@testable import Mail

/// The reply parser against an independent reading of RFC 5321 §4.2, on well-formed, mutated and
/// random input: the same replies, or a refusal, and never a crash.
struct SMTPReplyParserTests {
    /// The reference: one regular expression per line, and the grouping rule written out again.
    static func reference(_ lines: [String]) -> [SMTPReply]? {
        let pattern = try! NSRegularExpression(
            pattern: "^([2-5][0-5][0-9])(?:([ -])(.*))?$", options: [.dotMatchesLineSeparators])
        var replies: [SMTPReply] = []
        var open: (code: Int, lines: [String])?
        for line in lines {
            guard line.utf8.count <= SMTPReplyParser.maximumLineLength,
                let match = pattern.firstMatch(in: line, range: NSRange(line.startIndex..., in: line))
            else { return nil }
            let code = Int(line[Range(match.range(at: 1), in: line)!])!
            let separator = Range(match.range(at: 2), in: line).map { String(line[$0]) }
            let text = Range(match.range(at: 3), in: line).map { String(line[$0]) } ?? ""
            if let current = open, current.code != code { return nil }
            let collected = (open?.lines ?? []) + [text]
            guard collected.count <= SMTPReplyParser.maximumLines else { return nil }
            if separator == "-" {
                open = (code, collected)
            } else {
                replies.append(SMTPReply(code: code, lines: collected))
                open = nil
            }
        }
        return replies
    }

    static func parse(_ lines: [String]) -> [SMTPReply]? {
        let result = streaming(lines)
        return result.refused ? nil : result.replies
    }

    /// Whether the parser takes the line (completing a reply or not) rather than refusing it.
    static func takes(_ parser: inout SMTPReplyParser, _ line: String) -> Bool {
        do {
            _ = try parser.consume(line: Array(line.utf8))
            return true
        } catch {
            return false
        }
    }

    @Test func wellFormedRepliesParse() throws {
        let lines = [
            "220 smtp.example.org ESMTP ready", "250-smtp.example.org", "250-AUTH PLAIN LOGIN", "250 STARTTLS", "354",
            "221 2.0.0 bye",
        ]
        #expect(Self.parse(lines) == Self.reference(lines))
        #expect(Self.parse(lines)?.map(\.code) == [220, 250, 354, 221])
        #expect(Self.parse(lines)?[1].lines == ["smtp.example.org", "AUTH PLAIN LOGIN", "STARTTLS"])
    }

    @Test(arguments: ["", "22", "2200 x", "22x ok", "620 no", "160 no", "260 no", "220x", "250-a\u{0}", "250", "599 "])
    func singleLinesMatchTheReference(line: String) {
        var parser = SMTPReplyParser()
        #expect(Self.takes(&parser, line) == (Self.reference([line]) != nil))
    }

    @Test func aReplyThatChangesCodeMidwayIsRefused() {
        var parser = SMTPReplyParser()
        #expect(Self.takes(&parser, "250-first"))
        #expect(throws: MailError(.protocolViolation)) { try parser.consume(line: Array("251 second".utf8)) }
    }

    @Test func endlessRepliesAreCut() {
        var parser = SMTPReplyParser()
        var refused = false
        for _ in 0...SMTPReplyParser.maximumLines {
            if !Self.takes(&parser, "250-again") { refused = true }
        }
        #expect(refused)
        #expect(throws: MailError(.protocolViolation)) {
            var fresh = SMTPReplyParser()
            _ = try fresh.consume(
                line: Array(("250 " + String(repeating: "x", count: SMTPReplyParser.maximumLineLength)).utf8))
        }
    }

    /// Seeded fuzzing: sequences of valid lines, mutated byte by byte, must get the reference's answer.
    @Test func fuzzedSequencesMatchTheReference() {
        var generator = SeededGenerator(seed: 0x5EED_5317)
        let pieces = ["250", "220", "535", "354", "-", " ", "ok", "AUTH", "\u{0}", "ü", "2", "99", "x", "-250"]
        for _ in 0..<20_000 {
            var lines: [String] = []
            for _ in 0..<Int.random(in: 1...6, using: &generator) {
                var line = ""
                for _ in 0..<Int.random(in: 0...5, using: &generator) {
                    line += pieces.randomElement(using: &generator)!
                }
                lines.append(line)
            }
            let ours = Self.streaming(lines)
            let theirs = Self.referencePrefix(lines)
            #expect(ours.replies == theirs.replies, "\(lines)")
            #expect(ours.refused == theirs.refused, "\(lines)")
        }
    }

    /// Random bytes straight into the parser: it may refuse, it must not crash.
    @Test func randomBytesNeverCrash() {
        var generator = SeededGenerator(seed: 42)
        for _ in 0..<50_000 {
            var parser = SMTPReplyParser()
            let length = Int.random(in: 0...40, using: &generator)
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            _ = try? parser.consume(line: bytes)
        }
    }

    /// Our parser over the lines until it refuses one.
    static func streaming(_ lines: [String]) -> (replies: [SMTPReply], refused: Bool) {
        var parser = SMTPReplyParser()
        var replies: [SMTPReply] = []
        for line in lines {
            do {
                if let reply = try parser.consume(line: Array(line.utf8)) { replies.append(reply) }
            } catch {
                return (replies, true)
            }
        }
        return (replies, false)
    }

    /// The reference over the longest prefix it accepts.
    static func referencePrefix(_ lines: [String]) -> (replies: [SMTPReply], refused: Bool) {
        for count in stride(from: lines.count, through: 0, by: -1) {
            if let replies = reference(Array(lines.prefix(count))) { return (replies, count < lines.count) }
        }
        return ([], true)
    }
}

/// SplitMix64, so a failing fuzz case can be replayed.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
