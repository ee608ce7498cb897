public import Foundation

/// One CBOR data item (RFC 8949) of the kinds WebAuthn uses: integers, byte and text strings, arrays,
/// maps, booleans and null. Negative integers keep CBOR's form, `-1 - n`, so every value of the wire
/// format fits.
public enum CBORValue: Sendable, Hashable {
    case unsigned(UInt64)
    /// The integer `-1 - n`.
    case negative(UInt64)
    case bytes(Data)
    case text(String)
    case array([CBORValue])
    /// Entries in the order they were encoded; keys are unique.
    case map([CBORMapEntry])
    case bool(Bool)
    case null

    /// The value as an `Int`, when it is an integer that fits.
    public var int: Int? {
        switch self {
        case .unsigned(let n): n <= UInt64(Int.max) ? Int(n) : nil
        case .negative(let n): n <= UInt64(Int.max) ? -1 - Int(n) : nil
        default: nil
        }
    }

    public var bytes: Data? { if case .bytes(let value) = self { value } else { nil } }
    public var text: String? { if case .text(let value) = self { value } else { nil } }

    /// The value under `key` in a map.
    public subscript(_ key: CBORValue) -> CBORValue? {
        guard case .map(let entries) = self else { return nil }
        return entries.first { $0.key == key }?.value
    }

    public subscript(_ key: Int) -> CBORValue? { self[key < 0 ? .negative(UInt64(-1 - key)) : .unsigned(UInt64(key))] }
    public subscript(_ key: String) -> CBORValue? { self[.text(key)] }
}

public struct CBORMapEntry: Sendable, Hashable {
    public let key: CBORValue
    public let value: CBORValue

    public init(_ key: CBORValue, _ value: CBORValue) {
        self.key = key
        self.value = value
    }
}

/// A strict CBOR decoder for what authenticators send. It accepts only definite lengths in their
/// shortest encoding (CTAP2's canonical form), maps whose keys are integers or text and never repeat,
/// valid UTF-8, and nothing but integers, strings, arrays, maps, booleans and null: no floats, tags or
/// undefined. Nesting is bounded, and every declared length is checked against the bytes that remain
/// before anything is allocated, so a short input cannot ask for a large one.
public struct CBORDecoder: Sendable {
    public var maximumDepth = 16
    public var maximumItems = 4096

    public init() {}

    /// Decodes exactly one item that fills `data`.
    public func decode(_ data: Data) throws(WebAuthnError) -> CBORValue {
        let (value, consumed) = try decodePrefix(data)
        guard consumed == data.count else { throw WebAuthnError(.malformedCBOR, "bytes after the item") }
        return value
    }

    /// Decodes the item at the start of `data`, and returns it with the number of bytes it took.
    public func decodePrefix(_ data: Data) throws(WebAuthnError) -> (value: CBORValue, consumed: Int) {
        var reader = Reader(bytes: [UInt8](data), maximumItems: maximumItems)
        let value = try reader.item(depth: 0, maximumDepth: maximumDepth)
        return (value, reader.offset)
    }

    private struct Reader {
        let bytes: [UInt8]
        var offset = 0
        var items = 0
        let maximumItems: Int

        init(bytes: [UInt8], maximumItems: Int) {
            self.bytes = bytes
            self.maximumItems = maximumItems
        }

        var remaining: Int { bytes.count - offset }

        mutating func byte() throws(WebAuthnError) -> UInt8 {
            guard offset < bytes.count else { throw WebAuthnError(.malformedCBOR, "truncated") }
            defer { offset += 1 }
            return bytes[offset]
        }

        mutating func take(_ count: Int) throws(WebAuthnError) -> ArraySlice<UInt8> {
            guard count >= 0, count <= remaining else { throw WebAuthnError(.malformedCBOR, "truncated") }
            defer { offset += count }
            return bytes[offset..<offset + count]
        }

        /// The argument of a head whose additional information is `info`, in its shortest form only.
        mutating func argument(_ info: UInt8) throws(WebAuthnError) -> UInt64 {
            switch info {
            case 0..<24:
                return UInt64(info)
            case 24...27:
                let width = 1 << Int(info - 24)
                let value = try take(width).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
                let shortest: UInt64 =
                    switch width {
                    case 1: 24
                    case 2: 0x100
                    case 4: 0x1_0000
                    default: 0x1_0000_0000
                    }
                guard value >= shortest else { throw WebAuthnError(.malformedCBOR, "a longer encoding than needed") }
                return value
            case 31:
                throw WebAuthnError(.malformedCBOR, "an indefinite length")
            default:
                throw WebAuthnError(.malformedCBOR, "a reserved head")
            }
        }

        /// A length no larger than what remains, each unit at least `unit` bytes long.
        mutating func length(_ info: UInt8, unit: Int) throws(WebAuthnError) -> Int {
            let value = try argument(info)
            guard value <= UInt64(remaining / unit) else { throw WebAuthnError(.malformedCBOR, "truncated") }
            return Int(value)
        }

        mutating func item(depth: Int, maximumDepth: Int) throws(WebAuthnError) -> CBORValue {
            items += 1
            guard items <= maximumItems else { throw WebAuthnError(.malformedCBOR, "too many items") }
            let head = try byte()
            let info = head & 0x1F
            switch head >> 5 {
            case 0:
                return .unsigned(try argument(info))
            case 1:
                return .negative(try argument(info))
            case 2:
                return .bytes(Data(try take(try length(info, unit: 1))))
            case 3:
                guard let text = String(validating: try take(try length(info, unit: 1)), as: UTF8.self) else {
                    throw WebAuthnError(.malformedCBOR, "text that is not UTF-8")
                }
                return .text(text)
            case 4:
                guard depth < maximumDepth else { throw WebAuthnError(.malformedCBOR, "nested too deep") }
                let count = try length(info, unit: 1)
                var elements: [CBORValue] = []
                elements.reserveCapacity(count)
                for _ in 0..<count { elements.append(try item(depth: depth + 1, maximumDepth: maximumDepth)) }
                return .array(elements)
            case 5:
                guard depth < maximumDepth else { throw WebAuthnError(.malformedCBOR, "nested too deep") }
                let count = try length(info, unit: 2)
                var entries: [CBORMapEntry] = []
                entries.reserveCapacity(count)
                var keys = Set<CBORValue>()
                for _ in 0..<count {
                    let key = try item(depth: depth + 1, maximumDepth: maximumDepth)
                    switch key {
                    case .unsigned, .negative, .text: break
                    default: throw WebAuthnError(.malformedCBOR, "a map key that is neither an integer nor text")
                    }
                    guard keys.insert(key).inserted else { throw WebAuthnError(.malformedCBOR, "a repeated map key") }
                    entries.append(CBORMapEntry(key, try item(depth: depth + 1, maximumDepth: maximumDepth)))
                }
                return .map(entries)
            case 6:
                throw WebAuthnError(.malformedCBOR, "a tag")
            default:
                switch info {
                case 20: return .bool(false)
                case 21: return .bool(true)
                case 22: return .null
                default: throw WebAuthnError(.malformedCBOR, "a float, undefined or another simple value")
                }
            }
        }
    }
}
