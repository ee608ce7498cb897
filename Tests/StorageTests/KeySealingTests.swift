import Foundation
import Identity
import PQCrypto
import QSPPTestSupport
import Services
import Testing

@testable import Storage

/// The keys a database keeps sealed under the master key, on both backends: the signing keys and TOTP
/// secrets that record no sealing key, and the emails of accounts from before encryption at rest.
@Suite("Key sealing")
struct KeySealingTests {
    @Test(arguments: Backend.all)
    func signingKeysAndTOTPSecretsAreResealedUnderTheNewMasterKey(backend: Backend) async throws {
        let url = try await isolatedDatabaseURL(backend)
        let old = try MasterKey(base64Seed: testMasterKey)
        let new = try MasterKey(base64Seed: MasterKey.generateSeedText())
        let user = UUID()
        let totp = Data((0..<20).map { _ in UInt8.random(in: 0...255) })
        let keyIDs = try await withStore(url, masterKey: old) { store in
            try await store.preparePersonalData()
            let ring = SigningKeyRing(algorithm: .ed25519, repository: store.identity, masterKey: old, retention: 60)
            _ = try await ring.load()
            _ = try await ring.addKey()
            try await store.identity.insertAccount(
                Account(
                    id: user, email: try EmailAddress("totp-\(user)@example.com"), passwordHash: "x", roles: [.user],
                    createdAt: Date()))
            try await store.identity.updateMFA(
                userID: user, sealedSecret: try old.seal(totp, context: IdentityService.totpContext(user)),
                enabled: true, recoveryCodeDigests: [])
            return Set(try await store.identity.signingKeys().map(\.keyID))
        }
        #expect(keyIDs.count == 2)

        let rotating = new.opening(previous: [old])
        let report = try await withStore(url, masterKey: rotating) { store in
            try await KeyRotation(repository: store.sealedKeys, audit: store.identity, masterKey: rotating)
                .rewrapUnderCurrentMasterKey()
        }
        #expect(report.signingKeys == 2)
        #expect(report.totpSecrets == 1)

        try await withStore(url, masterKey: new) { store in
            let ring = SigningKeyRing(algorithm: .ed25519, repository: store.identity, masterKey: new, retention: 60)
            #expect(try await ring.load() == nil, "every stored key opened under the new master key alone")
            #expect(Set(ring.keyStatuses.map(\.keyID)) == keyIDs)
            let sealed = try #require(try await store.identity.account(id: user)?.sealedTOTPSecret)
            #expect(try new.open(sealed, context: IdentityService.totpContext(user)) == totp)
            #expect(throws: (any Error).self) { try old.open(sealed, context: IdentityService.totpContext(user)) }
        }
    }

    /// An account row from before encryption at rest holds its email in the clear and no index: the
    /// next start seals it, and the account is found by its email as before.
    @Test(arguments: Backend.all)
    func aPlaintextEmailFromBeforeEncryptionIsSealedAtStart(backend: Backend) async throws {
        try await withStore(backend) { store in
            try await store.preparePersonalData()
            let id = UUID()
            let email = "legacy-\(id.uuidString.lowercased())@example.com"
            _ = try await store.sql.write(
                "INSERT INTO accounts (id, email, password_hash, roles, created_at) VALUES ($1, $2, $3, $4, $5)",
                [.uuid(id), .text(email), .text("$argon2id$legacy"), .text("user"), .time(Date())])

            try await store.preparePersonalData()

            let row = try #require(
                try await store.sql.select("SELECT email, email_index FROM accounts WHERE id = $1", [.uuid(id)]).first)
            let stored = row[0].bytes.map { String(decoding: $0, as: UTF8.self) } ?? ""
            #expect(!stored.contains(email), "the email is sealed at rest")
            #expect(row[1] != .null, "the email is indexed for look-ups")
            let account = try await store.identity.account(email: try EmailAddress(email))
            #expect(account?.id == id)
            #expect(account?.email.normalized == email)
        }
    }
}
