import Crypto
import Foundation
import Testing

/// The post-quantum primitives QSPP builds on (swift-crypto's ML-DSA-65 and ML-KEM-768), checked on
/// this platform against official known-answer vectors: NIST ACVP key generation, Wycheproof
/// verification edge cases, and BoringSSL's ML-KEM key generation file (see Fixtures/README.md).
@Suite("Post-quantum known-answer vectors")
struct KnownAnswerTests {
    @Test func mldsa65KeyGenerationFromSeedMatchesFIPS204() throws {
        let vectors = try fixture("mldsa65_keygen.json")["testVectors"] as! [[String: String]]
        #expect(vectors.count == 25)
        for vector in vectors {
            let key = try MLDSA65.PrivateKey(seedRepresentation: try hex(vector["seed"]!), publicKey: nil)
            #expect(key.publicKey.rawRepresentation == (try hex(vector["pub"]!)), "seed \(vector["seed"]!.prefix(16))…")
            #expect(key.seedRepresentation == (try hex(vector["seed"]!)))
        }
    }

    @Test func mldsa65VerificationAgreesWithWycheproof() throws {
        let groups = try fixture("mldsa65_verify_wycheproof.json")["testGroups"] as! [[String: Any]]
        var checked = 0
        for group in groups {
            let publicKey = try? MLDSA65.PublicKey(rawRepresentation: try hex(group["publicKey"] as! String))
            for test in group["tests"] as! [[String: Any]] {
                let expected = test["result"] as! String == "valid"
                let message = try hex(test["msg"] as! String)
                let signature = try hex(test["sig"] as! String)
                let context = try (test["ctx"] as? String).map(hex) ?? Data()
                let valid =
                    publicKey.map { key in
                        context.count > 255 ? false : key.isValidSignature(signature, for: message, context: context)
                    } ?? false
                #expect(valid == expected, "tcId \(test["tcId"]!): \(test["comment"] ?? "")")
                checked += 1
            }
        }
        #expect(checked == 83)
    }

    @Test func mldsa65SignaturesVerifyOnlyForTheirMessageAndEmptyContext() throws {
        let key = try MLDSA65.PrivateKey()
        let message = Data("consent receipt".utf8)
        let signature = try key.signature(for: message)
        #expect(signature.count == 3309)
        #expect(key.publicKey.isValidSignature(signature, for: message))
        #expect(key.publicKey.isValidSignature(signature, for: message, context: Data()))
        #expect(!key.publicKey.isValidSignature(signature, for: Data("consent receipt!".utf8)))
        #expect(!key.publicKey.isValidSignature(signature, for: message, context: Data("jose".utf8)))
    }

    @Test func mlkem768KeyGenerationFromSeedMatchesFIPS203() throws {
        let vectors =
            try JSONSerialization.jsonObject(with: try fixtureData("mlkem768_kat.json")) as! [[String: String]]
        #expect(vectors.count == 100)
        for vector in vectors {
            let key = try MLKEM768.PrivateKey(seedRepresentation: try hex(vector["dz"]!), publicKey: nil)
            #expect(key.publicKey.rawRepresentation == (try hex(vector["pk"]!)), "dz \(vector["dz"]!.prefix(16))…")
        }
    }

    @Test func mlkem768AndXWingEncapsulationRoundTrips() throws {
        let kem = try MLKEM768.PrivateKey()
        let sealed = try kem.publicKey.encapsulate()
        #expect(try kem.decapsulate(sealed.encapsulated) == sealed.sharedSecret)
        let xwing = try XWingMLKEM768X25519.PrivateKey.generate()
        let wrapped = try xwing.publicKey.encapsulate()
        #expect(try xwing.decapsulate(wrapped.encapsulated) == wrapped.sharedSecret)
    }

    private func fixtureData(_ name: String) throws -> Data {
        let url = try #require(Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures"))
        return try Data(contentsOf: url)
    }

    private func fixture(_ name: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: try fixtureData(name)) as? [String: Any])
    }
}

struct HexError: Error {}

func hex(_ text: String) throws -> Data {
    var bytes = Data(capacity: text.utf8.count / 2)
    var high: UInt8?
    for character in text.utf8 {
        let value: UInt8
        switch character {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): value = character - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): value = character - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): value = character - UInt8(ascii: "A") + 10
        default: throw HexError()
        }
        if let pending = high {
            bytes.append(pending << 4 | value)
            high = nil
        } else {
            high = value
        }
    }
    guard high == nil else { throw HexError() }
    return bytes
}
