import Testing

@testable import App

/// The parser behind the TLS key-exchange metric, on ServerHellos built by hand from RFC 8446's layout
/// (an independent construction of the bytes), and on garbage.
@Suite("ServerHello parser")
struct ServerHelloParserTests {
    /// A TLS record of type 22 holding one ServerHello with the given random and extensions.
    static func record(random: [UInt8] = Array(repeating: 7, count: 32), extensions: [[UInt8]]) -> [UInt8] {
        let sessionID = Array(repeating: UInt8(0xAB), count: 32)
        var body: [UInt8] = [0x03, 0x03] + random + [UInt8(sessionID.count)] + sessionID + [0x13, 0x01, 0x00]
        let joined = extensions.flatMap { $0 }
        body += [UInt8(joined.count >> 8), UInt8(joined.count & 0xFF)] + joined
        let message = [0x02, 0x00, UInt8(body.count >> 8), UInt8(body.count & 0xFF)] + body
        return [0x16, 0x03, 0x03, UInt8(message.count >> 8), UInt8(message.count & 0xFF)] + message
    }

    static func keyShare(group: UInt16, keyLength: Int) -> [UInt8] {
        let data =
            [UInt8(group >> 8), UInt8(group & 0xFF), UInt8(keyLength >> 8), UInt8(keyLength & 0xFF)]
            + Array(repeating: 0x42, count: keyLength)
        return [0x00, 0x33, UInt8(data.count >> 8), UInt8(data.count & 0xFF)] + data
    }

    static let supportedVersions: [UInt8] = [0x00, 0x2B, 0x00, 0x02, 0x03, 0x04]

    @Test func findsTheHybridGroupEvenWhenFedByteByByte() {
        let bytes = Self.record(extensions: [Self.supportedVersions, Self.keyShare(group: 0x11EC, keyLength: 1088)])
        var parser = ServerHelloParser()
        var outcomes: [ServerHelloParser.Outcome] = []
        for byte in bytes { outcomes.append(parser.feed([byte])) }
        #expect(outcomes.dropLast().allSatisfy { $0 == .needMore })
        #expect(outcomes.last == .group(0x11EC))
        #expect(ServerHelloParser.name(of: 0x11EC) == "X25519MLKEM768")
    }

    @Test func skipsAHelloRetryRequestAndReadsTheServerHelloAfterIt() {
        let retry = Self.record(
            random: ServerHelloParser.helloRetryRandom,
            extensions: [Self.supportedVersions, [0x00, 0x33, 0x00, 0x02, 0x00, 0x1D]])
        let changeCipherSpec: [UInt8] = [0x14, 0x03, 0x03, 0x00, 0x01, 0x01]
        var parser = ServerHelloParser()
        #expect(parser.feed(retry + changeCipherSpec) == .needMore)
        let hello = Self.record(extensions: [Self.keyShare(group: 0x001D, keyLength: 32), Self.supportedVersions])
        #expect(parser.feed(hello + [0x17, 0x03, 0x03, 0x00, 0x05, 1, 2, 3, 4, 5]) == .group(0x001D))
    }

    @Test func refusesWhatIsNotAServerHello() {
        var alert = ServerHelloParser()
        #expect(alert.feed([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28]) == .unknown)
        var noShare = ServerHelloParser()
        #expect(noShare.feed(Self.record(extensions: [Self.supportedVersions])) == .unknown)
        var truncated = Array(Self.record(extensions: [Self.keyShare(group: 0x11EC, keyLength: 4)]))
        truncated[8] = 0xFF  // the handshake message claims more than its record holds
        var lying = ServerHelloParser()
        #expect(lying.feed(truncated) != .group(0x11EC))
    }

    /// Random bytes never crash it, and the search always ends within its limit.
    @Test func randomBytesEndTheSearchWithoutACrash() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2_000 {
            var parser = ServerHelloParser()
            var outcome = ServerHelloParser.Outcome.needMore
            var fed = 0
            while outcome == .needMore, fed <= ServerHelloParser.limit + 20_000 {
                let count = Int.random(in: 1...700, using: &generator)
                var chunk = (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
                if fed == 0, Bool.random(using: &generator) { chunk[0] = 0x16 }
                outcome = parser.feed(chunk)
                fed += count
            }
            #expect(outcome != .needMore)
        }
    }
}

extension ServerHelloParserTests {
    /// A ServerHello split over two handshake records, and a HelloRetryRequest that carries a cookie
    /// but no key share (RFC 8446 allows it): both still lead to the group.
    @Test func readsAServerHelloSplitAcrossRecordsAfterACookieOnlyRetry() {
        let cookie: [UInt8] = [0x00, 0x2C, 0x00, 0x04, 0x00, 0x02, 0xAA, 0xBB]
        let retry = Self.record(
            random: ServerHelloParser.helloRetryRandom, extensions: [Self.supportedVersions, cookie])
        let hello = Self.record(extensions: [Self.keyShare(group: 0x11EC, keyLength: 1088), Self.supportedVersions])
        let message = Array(hello.dropFirst(5))
        let split = message.count / 2
        func wrap(_ fragment: ArraySlice<UInt8>) -> [UInt8] {
            [0x16, 0x03, 0x03, UInt8(fragment.count >> 8), UInt8(fragment.count & 0xFF)] + fragment
        }
        var parser = ServerHelloParser()
        #expect(parser.feed(retry) == .needMore)
        #expect(parser.feed(wrap(message[..<split])) == .needMore)
        #expect(parser.feed(wrap(message[split...])) == .group(0x11EC))
    }
}
