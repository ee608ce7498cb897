import Foundation
import PQCrypto
import Testing

@Suite("Master key and signing keys")
struct KeyMaterialTests {
    @Test func sealedSecretsOpenOnlyWithTheSameKeyAndContext() throws {
        let key = try MasterKey(base64Seed: MasterKey.generateSeedText())
        let other = try MasterKey(base64Seed: MasterKey.generateSeedText())
        let secret = Data("signing seed 0123456789abcdefghij".utf8)
        let sealed = try key.seal(secret, context: "row 1")
        #expect(try key.open(sealed, context: "row 1") == secret)
        #expect(sealed.range(of: secret) == nil)
        #expect(throws: PQCryptoError.cannotOpen) { try key.open(sealed, context: "row 2") }
        #expect(throws: PQCryptoError.cannotOpen) { try other.open(sealed, context: "row 1") }
        var tampered = sealed
        tampered[tampered.count - 1] ^= 1
        #expect(throws: PQCryptoError.cannotOpen) { try key.open(tampered, context: "row 1") }
        #expect(throws: PQCryptoError.cannotOpen) { try key.open(sealed.prefix(100), context: "row 1") }
    }

    @Test func masterKeysMustBeThirtyTwoBytes() {
        for bad in ["", "not base64!", Data(count: 16).base64EncodedString(), Data(count: 33).base64EncodedString()] {
            #expect(throws: PQCryptoError.invalidMasterKey) { try MasterKey(base64Seed: bad) }
        }
    }

    @Test func signingKeysRoundTripFromTheirSeedWithAThumbprintKeyID() throws {
        for algorithm in SigningAlgorithm.allCases {
            let key = SigningKey.generate(algorithm)
            let again = try SigningKey(algorithm: algorithm, privateSeed: key.privateSeed)
            #expect(again.publicKey == key.publicKey)
            #expect(again.keyID == key.keyID)
            #expect(Base64URL.decode(key.keyID)?.count == 32)
        }
        #expect(SigningKey.generate(.mldsa65).publicKey.count == 1952)
        #expect(SigningKey.generate(.mldsa65).publicJWK["kty"] == "AKP")
        #expect(SigningKey.generate(.ed25519).publicJWK["kty"] == "OKP")
    }

    @Test func base64URLRejectsWhatIsNotBase64URL() {
        #expect(Base64URL.decode("aGVsbG8") == Data("hello".utf8))
        #expect(Base64URL.decode("aGVsbG8=") == nil)
        #expect(Base64URL.decode("a+b/") == nil)
        #expect(Base64URL.decode("a") == nil)
    }
}
