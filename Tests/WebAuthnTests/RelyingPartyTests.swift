import Crypto
import Foundation
import PQCrypto
import Testing

@testable import WebAuthn

/// Each rule of registration and sign-in (WebAuthn Level 3 §7), one at a time, against an
/// authenticator written here with swift-crypto's P-256; the API tests use authenticators that are not
/// ours. And a fuzz run: no mutation of a registration or a sign-in crashes or passes unnoticed.
@Suite("Relying party")
struct RelyingPartyTests {
    static let party = RelyingParty(id: "qspp.test", name: "QSPP", origins: ["https://qspp.test"])
    static let handle = Data(repeating: 9, count: 16)

    /// A one-credential authenticator: ES256, with the flags and counter a test asks for.
    struct Authenticator {
        let key = P256.Signing.PrivateKey()
        let id = Data((0..<16).map { UInt8($0) })

        var coseKey: Data {
            let point = key.publicKey.x963Representation
            return Data([0xA5, 0x01, 0x02, 0x03, 0x26, 0x20, 0x01, 0x21, 0x58, 0x20]) + point[1..<33]
                + Data([0x22, 0x58, 0x20]) + point[33..<65]
        }

        func clientData(
            _ type: String, _ challenge: Data, origin: String = "https://qspp.test", extra: String = ""
        ) -> Data {
            Data(
                #"{"type":"\#(type)","challenge":"\#(Base64URL.encode(challenge))","origin":"\#(origin)"\#(extra)}"#
                    .utf8)
        }

        func authenticatorData(rpID: String = "qspp.test", flags: UInt8, count: UInt32, attested: Bool) -> Data {
            var data = Data(SHA256.hash(data: Data(rpID.utf8))) + Data([flags])
            data += withUnsafeBytes(of: count.bigEndian) { Data($0) }
            if attested { data += Data(count: 16) + Data([0, UInt8(id.count)]) + id + coseKey }
            return data
        }

        func registration(
            _ challenge: Data, flags: UInt8 = 0x45, format: String = "none", statement: Data = Data([0xA0]),
            clientData: Data? = nil
        ) -> RelyingParty.Registration {
            let authData = authenticatorData(flags: flags, count: 0, attested: true)
            var object = Data([0xA3, 0x63]) + Data("fmt".utf8)
            object += Data([0x60 + UInt8(format.utf8.count)]) + Data(format.utf8)
            object += Data([0x67]) + Data("attStmt".utf8) + statement
            object += Data([0x68]) + Data("authData".utf8)
            // Shorter than 256 bytes, so one length byte is CBOR's shortest form.
            object += Data([0x58, UInt8(authData.count)]) + authData
            return RelyingParty.Registration(
                clientDataJSON: clientData ?? self.clientData("webauthn.create", challenge), attestationObject: object)
        }

        func assertion(
            _ challenge: Data, flags: UInt8 = 0x05, count: UInt32 = 1, rpID: String = "qspp.test",
            clientData: Data? = nil, userHandle: Data? = RelyingPartyTests.handle
        ) throws -> RelyingParty.Assertion {
            let authData = authenticatorData(rpID: rpID, flags: flags, count: count, attested: false)
            let client = clientData ?? self.clientData("webauthn.get", challenge)
            let signature = try key.signature(for: authData + Data(SHA256.hash(data: client))).derRepresentation
            return RelyingParty.Assertion(
                credentialID: id, clientDataJSON: client, authenticatorData: authData, signature: signature,
                userHandle: userHandle)
        }

        func stored(count: UInt32 = 0, backupEligible: Bool = false) -> RelyingParty.StoredCredential {
            .init(publicKey: coseKey, signCount: count, backupEligible: backupEligible, userHandle: handle)
        }
    }

    let challenge = Data((0..<32).map { _ in UInt8.random(in: 0...255) })

    @Test func aRegistrationPassesEveryCheckAndEachRuleRefusesItsBreach() throws {
        let authenticator = Authenticator()
        let party = Self.party
        let new = try party.verifyRegistration(
            authenticator.registration(challenge), challenge: challenge, requireUserVerification: true)
        #expect(new.id == authenticator.id && new.algorithm == .es256 && new.attestation == .none)
        #expect(new.userVerified && !new.backupEligible && new.signCount == 0)

        func refused(
            _ registration: RelyingParty.Registration, _ code: WebAuthnError.Code, requireUV: Bool = false
        ) {
            #expect(throws: WebAuthnError(code)) {
                try party.verifyRegistration(registration, challenge: challenge, requireUserVerification: requireUV)
            }
        }
        refused(authenticator.registration(Data(count: 32)), .challengeMismatch)
        refused(
            authenticator.registration(
                challenge, clientData: authenticator.clientData("webauthn.get", challenge)), .wrongCeremony)
        refused(
            authenticator.registration(
                challenge,
                clientData: authenticator.clientData("webauthn.create", challenge, origin: "https://evil.test")),
            .originMismatch)
        refused(
            authenticator.registration(
                challenge,
                clientData: authenticator.clientData(
                    "webauthn.create", challenge, extra: #","crossOrigin":true"#)), .originMismatch)
        refused(
            authenticator.registration(
                challenge,
                clientData: authenticator.clientData("webauthn.create", challenge, extra: #","crossOrigin":1"#)),
            .malformedClientData)
        refused(authenticator.registration(challenge, flags: 0x44), .userNotPresent)
        refused(authenticator.registration(challenge, flags: 0x41), .userNotVerified, requireUV: true)
        refused(authenticator.registration(challenge, format: "x-custom"), .malformedAttestation)
        refused(
            authenticator.registration(challenge, statement: Data([0xA1, 0x61, 0x78, 0x01])), .malformedAttestation)
        // packed without a certificate is self-attestation: its signature must be the credential's own.
        let bogus =
            Data([0xA2, 0x63]) + Data("alg".utf8) + Data([0x26, 0x63]) + Data("sig".utf8) + Data([0x41, 0x00])
        refused(authenticator.registration(challenge, format: "packed", statement: bogus), .invalidAttestation)
        // Another registered format is kept, untrusted.
        let tpm = try party.verifyRegistration(
            authenticator.registration(challenge, format: "tpm", statement: Data([0xA0])), challenge: challenge,
            requireUserVerification: false)
        #expect(tpm.attestation == .untrusted && tpm.attestationFormat == "tpm")
    }

    @Test func packedSelfAttestationIsChecked() throws {
        let authenticator = Authenticator()
        let clientData = authenticator.clientData("webauthn.create", challenge)
        let authData = authenticator.authenticatorData(flags: 0x45, count: 0, attested: true)
        let signature = try authenticator.key.signature(for: authData + Data(SHA256.hash(data: clientData)))
            .derRepresentation
        let statement =
            Data([0xA2, 0x63]) + Data("alg".utf8) + Data([0x26, 0x63]) + Data("sig".utf8)
            + Data([0x58, UInt8(signature.count)]) + signature
        let new = try Self.party.verifyRegistration(
            authenticator.registration(challenge, format: "packed", statement: statement), challenge: challenge,
            requireUserVerification: true)
        #expect(new.attestation == .selfAttested)
        // The same statement claiming another algorithm than the key's.
        var otherAlgorithm = statement
        otherAlgorithm[5] = 0x27
        #expect(throws: WebAuthnError(.invalidAttestation)) {
            try Self.party.verifyRegistration(
                authenticator.registration(challenge, format: "packed", statement: otherAlgorithm),
                challenge: challenge, requireUserVerification: true)
        }
    }

    @Test func aSignInPassesEveryCheckAndEachRuleRefusesItsBreach() throws {
        let authenticator = Authenticator()
        let party = Self.party
        let verified = try party.verifyAssertion(
            authenticator.assertion(challenge, count: 7), challenge: challenge,
            credential: authenticator.stored(count: 6),
            requireUserVerification: true)
        #expect(verified == .init(signCount: 7, backedUp: false, userVerified: true))
        // No counter on either side: an authenticator that keeps none.
        _ = try party.verifyAssertion(
            authenticator.assertion(challenge, count: 0), challenge: challenge, credential: authenticator.stored(),
            requireUserVerification: true)

        func refused(
            _ assertion: RelyingParty.Assertion, _ code: WebAuthnError.Code,
            stored: RelyingParty.StoredCredential? = nil, requireUV: Bool = true
        ) {
            #expect(throws: WebAuthnError(code)) {
                try party.verifyAssertion(
                    assertion, challenge: challenge, credential: stored ?? authenticator.stored(),
                    requireUserVerification: requireUV)
            }
        }
        refused(try authenticator.assertion(Data(count: 32)), .challengeMismatch)
        refused(
            try authenticator.assertion(challenge, clientData: authenticator.clientData("webauthn.create", challenge)),
            .wrongCeremony)
        refused(
            try authenticator.assertion(
                challenge, clientData: authenticator.clientData("webauthn.get", challenge, origin: "http://qspp.test")),
            .originMismatch)
        refused(
            try authenticator.assertion(
                challenge,
                clientData: authenticator.clientData(
                    "webauthn.get", challenge, extra: #","topOrigin":"https://x.test""#)),
            .originMismatch)
        refused(try authenticator.assertion(challenge, rpID: "evil.test"), .rpIDMismatch)
        refused(try authenticator.assertion(challenge, flags: 0x04), .userNotPresent)
        refused(try authenticator.assertion(challenge, flags: 0x01), .userNotVerified)
        refused(
            try authenticator.assertion(challenge, count: 5), .counterRegression, stored: authenticator.stored(count: 5)
        )
        refused(
            try authenticator.assertion(challenge, count: 0), .counterRegression, stored: authenticator.stored(count: 5)
        )
        refused(try authenticator.assertion(challenge, flags: 0x0D), .backupEligibilityChanged)
        refused(
            try authenticator.assertion(challenge), .backupEligibilityChanged,
            stored: authenticator.stored(backupEligible: true))
        refused(try authenticator.assertion(challenge, userHandle: Data(count: 16)), .userHandleMismatch)
        // Without a handle: fine where the credential was named in advance, refused where it was not.
        _ = try party.verifyAssertion(
            authenticator.assertion(challenge, userHandle: nil), challenge: challenge,
            credential: authenticator.stored(), requireUserVerification: true)
        #expect(throws: WebAuthnError(.userHandleMismatch)) {
            try party.verifyAssertion(
                authenticator.assertion(self.challenge, userHandle: nil), challenge: self.challenge,
                credential: authenticator.stored(), requireUserVerification: true, discoverable: true)
        }
        // A signature by another key.
        var forged = try Authenticator().assertion(challenge)
        forged = RelyingParty.Assertion(
            credentialID: authenticator.id, clientDataJSON: forged.clientDataJSON,
            authenticatorData: forged.authenticatorData, signature: forged.signature, userHandle: Self.handle)
        refused(forged, .invalidSignature)
        // User presence is enough for a second factor.
        _ = try party.verifyAssertion(
            authenticator.assertion(challenge, flags: 0x01), challenge: challenge, credential: authenticator.stored(),
            requireUserVerification: false)
    }

    /// Random mutations of a good registration and sign-in: each is refused with a `WebAuthnError` or,
    /// where what changed is not signed and not checked, accepted; none crashes.
    @Test func mutatedCeremoniesNeverCrash() throws {
        let authenticator = Authenticator()
        let registration = authenticator.registration(challenge)
        let assertion = try authenticator.assertion(challenge)
        var generator = SystemRandomNumberGenerator()
        func mutate(_ data: Data) -> Data {
            var mutated = data
            while mutated == data { mutated = change(data) }
            return mutated
        }
        func change(_ data: Data) -> Data {
            var bytes = [UInt8](data)
            switch Int.random(in: 0..<4, using: &generator) {
            case 0 where !bytes.isEmpty:
                bytes[Int.random(in: 0..<bytes.count, using: &generator)] ^= UInt8.random(
                    in: 1...255, using: &generator)
            case 1 where !bytes.isEmpty:
                bytes.removeLast(Int.random(in: 1...bytes.count, using: &generator))
            case 2:
                bytes.insert(
                    UInt8.random(in: 0...255, using: &generator), at: Int.random(in: 0...bytes.count, using: &generator)
                )
            default:
                bytes = bytes.map { $0 ^ (Int.random(in: 0..<64, using: &generator) == 0 ? 0xFF : 0) }
            }
            return Data(bytes)
        }
        var refusedSignIns = 0
        for _ in 0..<2000 {
            let mutated = RelyingParty.Registration(
                clientDataJSON: registration.clientDataJSON, attestationObject: mutate(registration.attestationObject))
            _ = try? Self.party.verifyRegistration(mutated, challenge: challenge, requireUserVerification: false)
            let mutatesClientData = Bool.random(using: &generator)
            let signIn = RelyingParty.Assertion(
                credentialID: assertion.credentialID,
                clientDataJSON: mutatesClientData ? mutate(assertion.clientDataJSON) : assertion.clientDataJSON,
                authenticatorData: mutatesClientData
                    ? assertion.authenticatorData : mutate(assertion.authenticatorData),
                signature: assertion.signature, userHandle: assertion.userHandle)
            do {
                _ = try Self.party.verifyAssertion(
                    signIn, challenge: challenge, credential: authenticator.stored(), requireUserVerification: false)
            } catch {
                refusedSignIns += 1
            }
        }
        // Both halves of a sign-in are signed: no mutation of them may pass.
        #expect(refusedSignIns == 2000)
    }
}
