import Foundation
import PQCrypto
import Testing

@Suite("Base64url")
struct Base64URLTests {
    @Test func matchesFoundationForEveryLengthAndRejectsWhatIsNotBase64URL() throws {
        for length in 0..<70 {
            let bytes = Data((0..<length).map { _ in UInt8.random(in: 0...255) })
            let expected = bytes.base64EncodedString().replacingOccurrences(of: "+", with: "-")
                .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
            #expect(Base64URL.encode(bytes) == expected)
            #expect(Base64URL.decode(expected) == bytes)
        }
        // RFC 4648 §10 vectors.
        #expect(Base64URL.encode(Data("foobar".utf8)) == "Zm9vYmFy")
        #expect(Base64URL.encode(Data("fooba".utf8)) == "Zm9vYmE")
        #expect(Base64URL.decode("Zm9vYg") == Data("foob".utf8))
        for bad in ["Zm9vYg==", "Zm+v", "Zm/v", "Z", "Zm9vY", "Zh", "é"] {
            #expect(Base64URL.decode(bad) == nil, "\(bad)")
        }
    }
}
