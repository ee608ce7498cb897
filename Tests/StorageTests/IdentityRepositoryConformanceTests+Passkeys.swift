import Foundation
import Identity
import Kernel
import Outbox
import QSPPTestSupport
import Storage
import Testing

extension IdentityRepositoryConformanceTests {
    static func passkey(
        of userID: UUID, id: Data = Data((0..<32).map { _ in UInt8.random(in: 0...255) })
    )
        -> Passkey
    {
        Passkey(
            id: id, userID: userID, name: "Laptop", publicKey: Data([0xA1, 0x01, 0x02]), algorithm: -7,
            signCount: 0, backupEligible: true, backedUp: false, aaguid: Data(repeating: 7, count: 16),
            attestation: "none", attestationFormat: "none", createdAt: Date().roundedToMicroseconds)
    }

    @Test(arguments: Backend.all)
    func passkeyChallengesAnswerOnceForTheirPurpose(backend: Backend) async throws {
        try await withStore(backend) { store in
            let repository = store.identity
            let account = try makeAccount()
            try await repository.insertAccount(account)
            let expires = Date().addingTimeInterval(300).roundedToMicroseconds
            let digest = UUID().uuidString
            try await repository.insertPasskeyChallenge(
                PasskeyChallenge(digest: digest, purpose: .registration, userID: account.id, expiresAt: expires))
            #expect(try await repository.takePasskeyChallenge(digest: digest, purpose: .signIn) == nil)
            let taken = try await repository.takePasskeyChallenge(digest: digest, purpose: .registration)
            #expect(
                taken
                    == PasskeyChallenge(digest: digest, purpose: .registration, userID: account.id, expiresAt: expires))
            #expect(try await repository.takePasskeyChallenge(digest: digest, purpose: .registration) == nil)

            let anonymous = UUID().uuidString
            try await repository.insertPasskeyChallenge(
                PasskeyChallenge(
                    digest: anonymous, purpose: .signIn, userID: nil, expiresAt: Date().addingTimeInterval(-1)))
            _ = try await repository.purgeExpired(now: Date(), throttleWindow: 60)
            #expect(try await repository.takePasskeyChallenge(digest: anonymous, purpose: .signIn) == nil)
        }
    }

    @Test(arguments: Backend.all)
    func passkeysAreUniqueCountersOnlyAdvanceAndOwnersAloneChangeThem(backend: Backend) async throws {
        try await withStore(backend) { store in
            let repository = store.identity
            let owner = try makeAccount()
            let other = try makeAccount()
            try await repository.insertAccount(owner)
            try await repository.insertAccount(other)
            let passkey = Self.passkey(of: owner.id)
            func event(_ kind: AuthEvent.Kind, _ user: UUID) -> AuthEvent {
                AuthEvent(kind: kind, at: Date(), userID: user, client: ClientInfo())
            }
            try await repository.insertPasskey(passkey, recording: event(.passkeyAdded, owner.id), queueing: [])
            #expect(try await repository.passkey(id: passkey.id) == passkey)
            await #expect(throws: IdentityError.passkeyExists) {
                try await repository.insertPasskey(
                    Self.passkey(of: other.id, id: passkey.id), recording: event(.passkeyAdded, other.id), queueing: [])
            }
            #expect(try await repository.passkeys(userID: other.id).isEmpty)

            // Both zero is a counter-less authenticator; after that, only forward.
            #expect(try await repository.recordPasskeyUse(id: passkey.id, signCount: 0, backedUp: true, at: Date()))
            #expect(try await repository.recordPasskeyUse(id: passkey.id, signCount: 5, backedUp: true, at: Date()))
            #expect(try await !repository.recordPasskeyUse(id: passkey.id, signCount: 5, backedUp: true, at: Date()))
            #expect(try await !repository.recordPasskeyUse(id: passkey.id, signCount: 0, backedUp: true, at: Date()))
            let used = try #require(try await repository.passkey(id: passkey.id))
            #expect(used.signCount == 5 && used.backedUp && used.lastUsedAt != nil)

            #expect(try await !repository.renamePasskey(id: passkey.id, userID: other.id, name: "Stolen"))
            #expect(try await repository.renamePasskey(id: passkey.id, userID: owner.id, name: "Phone"))
            #expect(try await repository.passkeys(userID: owner.id).map(\.name) == ["Phone"])
            #expect(
                try await repository.deletePasskey(
                    id: passkey.id, userID: other.id, recording: event(.passkeyRemoved, other.id), queueing: [])
                    == .notFound)

            // Without a password, the last passkey stays; with a second one, either may go.
            #expect(
                try await !repository.removePassword(
                    userID: other.id, recording: event(.passwordRemoved, other.id), queueing: []))
            #expect(try await repository.account(id: other.id)?.hasPassword == true)
            #expect(
                try await repository.removePassword(
                    userID: owner.id, recording: event(.passwordRemoved, owner.id), queueing: []))
            #expect(try await repository.account(id: owner.id)?.hasPassword == false)
            #expect(
                try await repository.deletePasskey(
                    id: passkey.id, userID: owner.id, recording: event(.passkeyRemoved, owner.id), queueing: [])
                    == .lastSignInMethod)
            let second = Self.passkey(of: owner.id)
            try await repository.insertPasskey(second, recording: event(.passkeyAdded, owner.id), queueing: [])
            #expect(
                try await repository.deletePasskey(
                    id: passkey.id, userID: owner.id, recording: event(.passkeyRemoved, owner.id), queueing: [])
                    == .deleted)
            #expect(try await repository.passkey(id: passkey.id) == nil)
            #expect(
                try await repository.deletePasskey(
                    id: second.id, userID: owner.id, recording: event(.passkeyRemoved, owner.id), queueing: [])
                    == .lastSignInMethod)

            // An account's deletion takes its passkeys with it.
            try await repository.deleteAccount(id: owner.id, at: Date())
            #expect(try await repository.passkey(id: second.id) == nil)
        }
    }
}
