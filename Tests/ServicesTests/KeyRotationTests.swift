import Foundation
import Identity
import PQCrypto
import QSPPTestSupport
import Testing

@testable import Services

/// `KeyRotation` over the in-memory repositories: what it re-seals under the new master key, that it
/// counts only what it replaced, and what running it again does.
@Suite("Key rotation in memory")
struct KeyRotationTests {
    /// Keys of every kind sealed under `old`, as a database holds them before `qspp keys rotate-kek`.
    struct Fixture {
        let old = try! MasterKey(base64Seed: testMasterKey)
        let new = try! MasterKey(base64Seed: MasterKey.generateSeedText())
        let services: InMemoryServices
        var wrappingKeys: [String: Data] = [:]
        var secrets: [String: Data] = [:]
        var totpSecrets: [UUID: Data] = [:]
        /// A webhook endpoint's secret, by the endpoint's id.
        var webhookSecret = (id: UUID().uuidString.lowercased(), secret: Data("whsec_dGVzdA==".utf8))
        /// A wrapping key another process made under the new key already, and its sealed bytes.
        var alreadyRotated: (id: String, sealed: Data) = ("", Data())

        var keys: InMemorySealedKeyRepository { services.sealedKeyRepository }
        var identity: InMemoryIdentityRepository { services.identityRepository }
        /// What servers run with during a rotation: the new key, still opening what the old one sealed.
        var rotating: MasterKey { new.opening(previous: [old]) }

        static func material() -> Data { Data((0..<32).map { _ in UInt8.random(in: 0...255) }) }

        init() async throws {
            services = try InMemoryServices(masterKey: old)
            for _ in 0..<2 {
                let id = UUID().uuidString.lowercased()
                wrappingKeys[id] = Self.material()
                try keys.seal(wrappingKeys[id]!, as: .wrappingKey, id: id, with: old)
            }
            let newer = UUID().uuidString.lowercased()
            alreadyRotated = try (newer, keys.seal(Self.material(), as: .wrappingKey, id: newer, with: new))
            secrets["email-index"] = Self.material()
            try keys.seal(secrets["email-index"]!, as: .secret, id: "email-index", with: old)
            try keys.seal(webhookSecret.secret, as: .webhookSecret, id: webhookSecret.id, with: old)
            // Two signing keys, the first retired by the second.
            try await services.keyRing.load()
            try await services.keyRing.addKey()
            // Two accounts with MFA, one without.
            for name in ["mfa-one", "mfa-two", "no-mfa"] {
                let account = try await services.register("\(name)@example.com")
                guard name != "no-mfa" else { continue }
                totpSecrets[account.id] = Self.material()
                try await identity.updateMFA(
                    userID: account.id,
                    sealedSecret: try old.seal(
                        totpSecrets[account.id]!, context: IdentityService.totpContext(account.id)),
                    enabled: true, recoveryCodeDigests: [])
            }
        }

        /// The TOTP secret stored for `user`, opened with `masterKey`.
        func totpSecret(of user: UUID, with masterKey: MasterKey) async throws -> Data? {
            guard let sealed = try await identity.account(id: user)?.sealedTOTPSecret else { return nil }
            return try masterKey.open(sealed, context: IdentityService.totpContext(user))
        }

        /// Loads the signing keys with `masterKey` alone, as a server does at start-up: it fails on a key
        /// that does not open. Returns their ids, newest first, and which one signs.
        func signingKeys(with masterKey: MasterKey) async throws -> (ids: [String], signing: String?) {
            let ring = SigningKeyRing(
                algorithm: services.keyRing.algorithm, repository: identity, masterKey: masterKey, retention: 60)
            #expect(try await ring.load() == nil, "no key is created: every stored key opened")
            return (ring.keyStatuses.map(\.keyID), ring.keyStatuses.first(where: \.signing)?.keyID)
        }

        /// The master-key rotations audited, oldest first, with their details.
        func rotationsAudited() async throws -> [AuthEvent] {
            let events = try await identity.authEvents(userID: nil, limit: 100)
            return Array(events.filter { $0.kind == .masterKeyRotated }.reversed())
        }
    }

    @Test func everyKeySealedUnderTheOldMasterKeyIsResealedUnderTheNewOne() async throws {
        let fixture = try await Fixture()
        let signingBefore = try await fixture.signingKeys(with: fixture.old)
        let storedBefore = try await fixture.identity.signingKeys()
        #expect(signingBefore.ids.count == 2)
        // The new key alone opens nothing of the old one's yet.
        let someWrappingKey = try #require(fixture.wrappingKeys.keys.first)
        #expect(throws: PQCryptoError.cannotOpen) {
            _ = try fixture.keys.open(.wrappingKey, id: someWrappingKey, with: fixture.new)
        }

        let report = try await fixture.services.keyRotation(to: fixture.rotating).rewrapUnderCurrentMasterKey()

        #expect(
            report == RewrapReport(wrappingKeys: 2, secrets: 1, signingKeys: 2, totpSecrets: 2, webhookSecrets: 1))
        // Afterwards the new key alone opens everything, to the same plaintext.
        for (id, material) in fixture.wrappingKeys {
            #expect(try fixture.keys.open(.wrappingKey, id: id, with: fixture.new) == material)
            #expect(fixture.keys.sealingFingerprint(.wrappingKey, id: id) == fixture.new.fingerprint)
        }
        #expect(try fixture.keys.open(.secret, id: "email-index", with: fixture.new) == fixture.secrets["email-index"])
        #expect(fixture.keys.sealingFingerprint(.secret, id: "email-index") == fixture.new.fingerprint)
        #expect(
            try fixture.keys.open(.webhookSecret, id: fixture.webhookSecret.id, with: fixture.new)
                == fixture.webhookSecret.secret)
        for (user, secret) in fixture.totpSecrets {
            #expect(try await fixture.totpSecret(of: user, with: fixture.new) == secret)
            #expect(try await fixture.identity.account(id: user)?.mfaEnabled == true)
        }
        let signingAfter = try await fixture.signingKeys(with: fixture.new)
        #expect(Set(signingAfter.ids) == Set(signingBefore.ids))
        #expect(signingAfter.signing == signingBefore.signing)
        // Only the sealed seeds changed: ids, public keys, times and retirements are as they were.
        let storedAfter = try await fixture.identity.signingKeys()
        #expect(storedAfter.map(\.keyID) == storedBefore.map(\.keyID))
        #expect(storedAfter.map(\.publicKey) == storedBefore.map(\.publicKey))
        #expect(storedAfter.map(\.retiredAt) == storedBefore.map(\.retiredAt))
        #expect(
            zip(storedAfter, storedBefore).allSatisfy { pair in pair.0.sealedPrivateKey != pair.1.sealedPrivateKey })
        // The key sealed under the new master key already was left alone.
        #expect(fixture.keys.sealed(.wrappingKey, id: fixture.alreadyRotated.id) == fixture.alreadyRotated.sealed)

        // Audited, and so chained into the ledger, with what was re-sealed.
        let audited = try await fixture.rotationsAudited()
        #expect(audited.map(\.details) == [["wrapping_keys": "2", "signing_keys": "2"]])
        let event = try #require(audited.first)
        #expect(event.userID == nil)
        #expect(fixture.identity.ledgerReferences.last == "auth:\(event.id.uuidString.lowercased())")
    }

    @Test func aKeyChangedMeanwhileIsKeptAndNotCounted() async throws {
        let fixture = try await Fixture()
        let (racedWrapping, material) = try #require(fixture.wrappingKeys.first)
        let (reenrolling, _) = try #require(fixture.totpSecrets.first)
        let reenrolled = try fixture.new.seal(
            Fixture.material(), context: IdentityService.totpContext(reenrolling))
        let keys = fixture.keys
        let identity = fixture.identity
        let new = fixture.new
        // Between the rotation's read and its write, another rotation re-seals one wrapping key, and a
        // user restarts MFA set-up with a new secret.
        let racing = ChangingMeanwhile(base: keys) { kind in
            if kind == .wrappingKey {
                try keys.seal(material, as: .wrappingKey, id: racedWrapping, with: new)
            } else if kind == .totpSecret {
                try await identity.updateMFA(
                    userID: reenrolling, sealedSecret: reenrolled, enabled: false, recoveryCodeDigests: [])
            }
        }
        let racedSealed = try #require(keys.sealed(.wrappingKey, id: racedWrapping))

        let report = try await KeyRotation(repository: racing, audit: identity, masterKey: fixture.rotating)
            .rewrapUnderCurrentMasterKey()

        // The listing still saw both; only the ones replaced count.
        #expect(
            report == RewrapReport(wrappingKeys: 1, secrets: 1, signingKeys: 2, totpSecrets: 1, webhookSecrets: 1))
        #expect(keys.sealed(.wrappingKey, id: racedWrapping) != racedSealed)
        #expect(try keys.open(.wrappingKey, id: racedWrapping, with: new) == material)
        #expect(try await identity.account(id: reenrolling)?.sealedTOTPSecret == reenrolled)
        for (user, secret) in fixture.totpSecrets where user != reenrolling {
            #expect(try await fixture.totpSecret(of: user, with: new) == secret)
        }
        #expect(try await fixture.rotationsAudited().map(\.details) == [["wrapping_keys": "1", "signing_keys": "2"]])
    }

    @Test func runningAgainReSealsOnlyTheKindsThatDoNotRecordTheirSealingKey() async throws {
        let fixture = try await Fixture()
        let rotation = fixture.services.keyRotation(to: fixture.rotating)
        _ = try await rotation.rewrapUnderCurrentMasterKey()
        let wrappingAfterFirst = fixture.wrappingKeys.keys.map { fixture.keys.sealed(.wrappingKey, id: $0) }
        let secretAfterFirst = fixture.keys.sealed(.secret, id: "email-index")

        let again = try await rotation.rewrapUnderCurrentMasterKey()

        // Wrapping keys and secrets name the key that sealed them: nothing is left to re-seal. Signing keys
        // and TOTP secrets do not, so every one is re-sealed again, harmlessly.
        #expect(again == RewrapReport(wrappingKeys: 0, secrets: 0, signingKeys: 2, totpSecrets: 2, webhookSecrets: 1))
        #expect(fixture.wrappingKeys.keys.map { fixture.keys.sealed(.wrappingKey, id: $0) } == wrappingAfterFirst)
        #expect(fixture.keys.sealed(.secret, id: "email-index") == secretAfterFirst)
        for (user, secret) in fixture.totpSecrets {
            #expect(try await fixture.totpSecret(of: user, with: fixture.new) == secret)
        }
        #expect(try await fixture.signingKeys(with: fixture.new).ids.count == 2)
        #expect(
            try await fixture.rotationsAudited().map(\.details) == [
                ["wrapping_keys": "2", "signing_keys": "2"], ["wrapping_keys": "0", "signing_keys": "2"],
            ])
    }

    @Test func aKeyThatCannotBeOpenedOrNamedStopsTheRotationUnaudited() async throws {
        let unknown = try await Fixture()
        let stranger = try MasterKey(base64Seed: MasterKey.generateSeedText())
        try unknown.keys.seal(Fixture.material(), as: .secret, id: "sealed-elsewhere", with: stranger)
        await #expect(throws: PQCryptoError.cannotOpen) {
            _ = try await unknown.services.keyRotation(to: unknown.rotating).rewrapUnderCurrentMasterKey()
        }
        #expect(try await unknown.rotationsAudited().isEmpty)

        let misnamed = try await Fixture()
        misnamed.keys.store(.wrappingKey, id: "not-a-uuid", sealed: Data([1, 2, 3]), under: misnamed.old.fingerprint)
        await #expect(throws: ServiceError.corruptedKey("wrappingKey")) {
            _ = try await misnamed.services.keyRotation(to: misnamed.rotating).rewrapUnderCurrentMasterKey()
        }
        #expect(try await misnamed.rotationsAudited().isEmpty)
    }
}

/// Lists what `base` holds, then lets `meanwhile` change keys of that kind before any is replaced, as
/// another rotation, or a user restarting MFA set-up, can between the rotation's read and its write.
struct ChangingMeanwhile: SealedKeyRepository {
    let base: InMemorySealedKeyRepository
    let meanwhile: @Sendable (SealedKeyKind) async throws -> Void

    func sealedKeys(_ kind: SealedKeyKind, notUnder fingerprint: String) async throws -> [SealedKey] {
        let keys = try await base.sealedKeys(kind, notUnder: fingerprint)
        try await meanwhile(kind)
        return keys
    }

    func replace(_ key: SealedKey, with resealed: Data, under fingerprint: String) async throws -> Bool {
        try await base.replace(key, with: resealed, under: fingerprint)
    }
}
