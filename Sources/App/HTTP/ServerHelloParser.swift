/// Finds the key-exchange group a TLS 1.3 server chose, in the bytes it sends: the ServerHello is the
/// one handshake message a TLS 1.3 server sends in the clear, and its `key_share` extension names the
/// group (RFC 8446 §4.1.3, §4.2.8). swift-nio-ssl has no public API for the negotiated group, so the
/// server's own output is read instead, before it is written to the socket.
///
/// Fed the outbound byte stream in any pieces; answers once it has seen the ServerHello that is not a
/// HelloRetryRequest. Strict: a record or message that does not parse ends the search with no group.
struct ServerHelloParser {
    enum Outcome: Equatable {
        case needMore
        case group(UInt16)
        /// Not a TLS 1.3 ServerHello with a key share: nothing to report.
        case unknown
    }

    /// RFC 8446 §4.1.3: a HelloRetryRequest is a ServerHello with this random.
    static let helloRetryRandom: [UInt8] = [
        0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
        0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C,
    ]
    /// More than any first flight of plaintext records needs; past it the search stops.
    static let limit = 64 * 1024

    private var stream: [UInt8] = []
    private var handshake: [UInt8] = []
    private var consumed = 0

    mutating func feed<Bytes: Sequence>(_ bytes: Bytes) -> Outcome where Bytes.Element == UInt8 {
        stream.append(contentsOf: bytes)
        while true {
            guard stream.count >= 5 else { break }
            let type = stream[0]
            let length = Int(stream[3]) << 8 | Int(stream[4])
            guard length <= 16_384 + 256 else { return .unknown }
            guard stream.count >= 5 + length else { break }
            let fragment = Array(stream[5..<(5 + length)])
            stream.removeFirst(5 + length)
            consumed += 5 + length
            switch type {
            case 22: handshake += fragment
            case 20: continue  // change_cipher_spec, sent for middlebox compatibility
            default: return .unknown  // encrypted or alert: the ServerHello should have come first
            }
            if let outcome = parseHandshake(), outcome != .needMore { return outcome }
        }
        return consumed + stream.count > Self.limit ? .unknown : .needMore
    }

    /// Parses whole handshake messages: a HelloRetryRequest is skipped, the next ServerHello answers.
    private mutating func parseHandshake() -> Outcome? {
        while handshake.count >= 4 {
            let length = Int(handshake[1]) << 16 | Int(handshake[2]) << 8 | Int(handshake[3])
            guard handshake.count >= 4 + length else { return .needMore }
            let message = Array(handshake[4..<(4 + length)])
            let type = handshake[0]
            handshake.removeFirst(4 + length)
            guard type == 2, let hello = Self.keyShareGroup(serverHello: message) else { return .unknown }
            // A HelloRetryRequest (with or without a key share: a cookie alone is allowed) is skipped.
            if hello.isRetry { continue }
            guard let group = hello.group else { return .unknown }
            return .group(group)
        }
        return .needMore
    }

    /// The `key_share` group of a well-formed ServerHello body, if it has one, and whether it is a
    /// HelloRetryRequest.
    static func keyShareGroup(serverHello body: [UInt8]) -> (group: UInt16?, isRetry: Bool)? {
        var reader = Reader(body)
        guard reader.skip(2), let random = reader.take(32), let sessionLength = reader.byte(),
            reader.skip(Int(sessionLength)), reader.skip(3), let extensionsLength = reader.uint16(),
            var extensions = reader.take(Int(extensionsLength)).map(Reader.init), reader.isAtEnd
        else { return nil }
        let isRetry = random == helloRetryRandom
        while !extensions.isAtEnd {
            guard let type = extensions.uint16(), let length = extensions.uint16(),
                let data = extensions.take(Int(length))
            else { return nil }
            // key_share: a KeyShareEntry (group, key) in a ServerHello, the selected group alone in a retry.
            if type == 0x0033, data.count >= 2 {
                return (UInt16(data[0]) << 8 | UInt16(data[1]), isRetry)
            }
        }
        return (nil, isRetry)
    }

    /// The names BoringSSL gives the groups QSPP offers; any other as its code point.
    static func name(of group: UInt16) -> String {
        switch group {
        case 0x11EC: "X25519MLKEM768"
        case 0x001D: "X25519"
        case 0x0017: "P-256"
        case 0x0018: "P-384"
        case 0x0019: "P-521"
        default: "0x" + String(group, radix: 16, uppercase: true)
        }
    }

    private struct Reader {
        private let bytes: [UInt8]
        private var offset = 0

        init(_ bytes: [UInt8]) { self.bytes = bytes }

        var isAtEnd: Bool { offset == bytes.count }

        mutating func take(_ count: Int) -> [UInt8]? {
            guard count >= 0, bytes.count - offset >= count else { return nil }
            defer { offset += count }
            return Array(bytes[offset..<(offset + count)])
        }

        mutating func skip(_ count: Int) -> Bool { take(count) != nil }

        mutating func byte() -> UInt8? { take(1)?.first }

        mutating func uint16() -> UInt16? {
            guard let pair = take(2) else { return nil }
            return UInt16(pair[0]) << 8 | UInt16(pair[1])
        }
    }
}
