import Crypto
import Foundation
import QSPPTestSupport
import Testing

@testable import WebAuthn

/// Authenticator data as a software authenticator that is not ours (soft-webauthn, on fido2) writes
/// it: registration's attested credential and key, sign-ins' counters and signatures over the
/// authenticator data and the client data's hash; and the ways it can be malformed, refused.
@Suite("Authenticator data")
struct AuthenticatorDataTests {
    @Test func aSoftwareAuthenticatorsRegistrationAndSignInsRead() throws {
        let output = try run(
            [
                "python3", repositoryRoot.appendingPathComponent("Tests/Interop/soft_authenticator.py").path,
                "qspp.test", "https://qspp.test",
            ],
            needs: "soft-webauthn from PyPI")
        let ceremony = try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any])
        let attestation = try CBORDecoder().decode(
            CBORTests.bytes(try #require(ceremony["attestationObject"] as? String)))
        #expect(attestation["fmt"]?.text == "none" && attestation["attStmt"] == .map([]))
        let registration = try AuthenticatorData(try #require(attestation["authData"]?.bytes))
        #expect(registration.rpIDHash == Data(SHA256.hash(data: Data("qspp.test".utf8))))
        #expect(registration.flags.contains([.userPresent, .attestedCredentialData]))
        #expect(registration.signCount == 0)
        let credential = try #require(registration.credential)
        #expect(credential.id == CBORTests.bytes(try #require(ceremony["id"] as? String)))
        #expect(credential.publicKey.algorithm == .es256)

        let assertions = try #require(ceremony["assertions"] as? [[String: String]])
        for (index, assertion) in assertions.enumerated() {
            let data = try AuthenticatorData(CBORTests.bytes(try #require(assertion["authenticatorData"])))
            #expect(data.credential == nil && data.flags.contains(.userPresent))
            #expect(data.signCount == UInt32(index + 1))
            let clientData = CBORTests.bytes(try #require(assertion["clientDataJSON"]))
            let signature = CBORTests.bytes(try #require(assertion["signature"]))
            let signed = data.bytes + Data(SHA256.hash(data: clientData))
            #expect(credential.publicKey.isValidSignature(signature, for: signed))
            let forged = data.bytes + Data(SHA256.hash(data: clientData + Data(" ".utf8)))
            #expect(!credential.publicKey.isValidSignature(signature, for: forged))
        }
    }

    static func header(flags: UInt8) -> Data { Data(count: 32) + Data([flags, 0, 0, 0, 1]) }

    @Test func malformedAuthenticatorDataIsRefused() throws {
        // An Ed25519 key in COSE: {1: 1, 3: -8, -1: 6, -2: x}.
        let keyBytes =
            CBORTests.bytes("a4010103272006215820")
            + Curve25519.Signing.PrivateKey().publicKey.rawRepresentation
        #expect(try COSEKey(try CBORDecoder().decode(keyBytes)).algorithm == .edDSA)
        let attested = Data(count: 16) + Data([0, 4, 1, 2, 3, 4]) + keyBytes
        // Well formed, for contrast.
        #expect(try AuthenticatorData(Self.header(flags: 0x41) + attested).credential?.id == Data([1, 2, 3, 4]))
        let cases: [Data] = [
            Data(count: 36),
            Self.header(flags: 0x41),
            Self.header(flags: 0x41) + Data(count: 16) + Data([0, 0]) + keyBytes,
            Self.header(flags: 0x41) + Data(count: 16) + Data([0x04, 0x00]) + keyBytes,
            Self.header(flags: 0x41) + attested + Data([0]),
            Self.header(flags: 0x41) + attested.dropLast(),
            Self.header(flags: 0x01) + Data([0xA0]),
            Self.header(flags: 0x81) + Data([0x80]),
            Self.header(flags: 0x11),
        ]
        for bytes in cases {
            #expect(throws: WebAuthnError.self) { try AuthenticatorData(bytes) }
        }
        #expect(try AuthenticatorData(Self.header(flags: 0x81) + Data([0xA0])).extensions == .map([]))
        #expect(try AuthenticatorData(Self.header(flags: 0x19)).flags.contains([.backupEligible, .backedUp]))
    }
}
