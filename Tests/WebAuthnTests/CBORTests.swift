import Foundation
import QSPPTestSupport
import Testing

@testable import WebAuthn

/// The strict CBOR decoder: RFC 8949's examples of what WebAuthn uses, everything else refused
/// (floats, tags, indefinite lengths, longer encodings than needed, repeated or odd map keys, bad
/// UTF-8, bombs of depth and length), and a differential run against cbor2 on random encodings and
/// mutations of them, where it may refuse more than cbor2 but never read anything differently.
@Suite("CBOR")
struct CBORTests {
    static func bytes(_ hex: String) -> Data {
        Data(
            stride(from: 0, to: hex.count, by: 2).map { offset in
                let start = hex.index(hex.startIndex, offsetBy: offset)
                return UInt8(hex[start..<hex.index(start, offsetBy: 2)], radix: 16)!
            })
    }

    static func decode(_ hex: String) throws(WebAuthnError) -> CBORValue { try CBORDecoder().decode(bytes(hex)) }

    @Test(arguments: [
        ("00", CBORValue.unsigned(0)), ("17", .unsigned(23)), ("1818", .unsigned(24)), ("1903e8", .unsigned(1000)),
        ("1a000f4240", .unsigned(1_000_000)), ("1b000000e8d4a51000", .unsigned(1_000_000_000_000)),
        ("1bffffffffffffffff", .unsigned(.max)), ("20", .negative(0)), ("29", .negative(9)),
        ("3863", .negative(99)), ("3903e7", .negative(999)), ("3bffffffffffffffff", .negative(.max)),
        ("f4", .bool(false)), ("f5", .bool(true)), ("f6", .null), ("40", .bytes(Data())),
        ("4401020304", .bytes(Data([1, 2, 3, 4]))), ("60", .text("")), ("6161", .text("a")),
        ("6449455446", .text("IETF")), ("62225c", .text("\"\\")), ("62c3bc", .text("ü")), ("63e6b0b4", .text("水")),
        ("64f0908591", .text("𐅑")), ("80", .array([])),
        (
            "8301820203820405",
            .array([.unsigned(1), .array([.unsigned(2), .unsigned(3)]), .array([.unsigned(4), .unsigned(5)])])
        ),
        ("a0", .map([])), ("a201020304", .map([.init(.unsigned(1), .unsigned(2)), .init(.unsigned(3), .unsigned(4))])),
        (
            "a26161016162820203",
            .map([.init(.text("a"), .unsigned(1)), .init(.text("b"), .array([.unsigned(2), .unsigned(3)]))])
        ),
    ])
    func rfc8949Examples(hex: String, expected: CBORValue) throws {
        #expect(try Self.decode(hex) == expected)
    }

    @Test func anArrayOfTwentyFiveUsesAOneByteLength() throws {
        let hex = "9819" + (1...25).map { $0 < 24 ? String(format: "%02x", $0) : String(format: "18%02x", $0) }.joined()
        #expect(try Self.decode(hex) == .array((1...25).map { .unsigned(UInt64($0)) }))
    }

    @Test(arguments: [
        "f90000", "fa47c35000", "fb3ff199999999999a", "f7", "f0", "f818",
        "c074323031332d30332d32315432303a30343a30305a",
        "5f42010243030405ff", "9fff", "bf6161f5ff", "7f657374726561646d696e67ff", "1800", "190017", "1a0000ffff",
        "1b00000000ffffffff", "3817", "5800", "62c328", "a201020103", "a14001", "a1800102", "18", "4401", "830102",
        "1c", "3e", "0000", "5bffffffffffffffff", "9bffffffffffffffff", "bbffffffffffffffff", "a3010203",
    ])
    func malformedOrUnwantedInputIsRefused(hex: String) {
        #expect(throws: WebAuthnError.self) { try Self.decode(hex) }
    }

    @Test func nestingBeyondTheLimitIsRefusedWithoutRecursingFurther() {
        let bomb = String(repeating: "81", count: 100_000) + "00"
        #expect(throws: WebAuthnError.self) { try Self.decode(bomb) }
        let shallow = String(repeating: "81", count: 16) + "00"
        #expect(throws: Never.self) { try Self.decode(shallow) }
    }

    @Test func aPrefixReportsWhatItTook() throws {
        let (value, consumed) = try CBORDecoder().decodePrefix(Self.bytes("a1016161ff00"))
        #expect(value == .map([.init(.unsigned(1), .text("a"))]) && consumed == 4)
    }

    /// What cbor2 read, rendered as the reference script renders it.
    static func rendered(_ value: CBORValue) -> Any {
        switch value {
        case .unsigned(let n): ["u": String(n)]
        case .negative(let n): ["n": String(n)]
        case .bytes(let data): ["b": data.map { String(format: "%02x", $0) }.joined()]
        case .text(let text): ["t": text]
        case .array(let items): ["a": items.map(rendered)]
        case .map(let entries): ["m": entries.map { [rendered($0.key), rendered($0.value)] }]
        case .bool(let flag): flag
        case .null: NSNull()
        }
    }

    static func json(_ value: Any) throws -> Data {
        try JSONSerialization.data(withJSONObject: ["v": value], options: [.sortedKeys, .fragmentsAllowed])
    }

    @Test func itNeverReadsDifferentlyFromCbor2() throws {
        let output = try run(
            [
                "python3", repositoryRoot.appendingPathComponent("Tests/Interop/cbor_reference.py").path, "20261206",
                "4000",
            ],
            needs: "cbor2 from PyPI")
        var accepted = 0
        var originals = 0
        for (index, line) in output.split(separator: "\n").enumerated() {
            let sample = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            let data = Self.bytes(try #require(sample["hex"] as? String))
            let reference = sample["accepted"] as? Bool == true ? sample["value"] : nil
            let ours = try? CBORDecoder().decode(data)
            if index % 2 == 0 {
                originals += 1
                let value = try #require(ours, "a canonical encoding of cbor2's was refused: \(line)")
                #expect(try Self.json(Self.rendered(value)) == Self.json(reference as Any))
            } else if let ours {
                accepted += 1
                let theirs = try #require(reference, "accepted what cbor2 refuses: \(line)")
                #expect(try Self.json(Self.rendered(ours)) == Self.json(theirs))
            }
        }
        #expect(originals == 2000)
        #expect(accepted > 100, "the mutations should leave some inputs valid")
    }
}
