import Foundation
import Identity
import Outbox
import QSPPTestSupport
import Storage
import Testing

extension IdentityRepositoryConformanceTests {
    @Test(arguments: Backend.all)
    func devicesAreRememberedOnceAndMutedNoticesAreKept(backend: Backend) async throws {
        try await withStore(backend) { store in
            let repository = store.identity
            let account = try makeAccount()
            try await repository.insertAccount(account)
            #expect(try await repository.account(id: account.id)?.mutedNotices == [])
            let first = try await repository.rememberDevice(userID: account.id, digest: "a", at: Date())
            #expect(first.isNew && !first.hadOthers)
            let again = try await repository.rememberDevice(userID: account.id, digest: "a", at: Date())
            #expect(!again.isNew)
            let second = try await repository.rememberDevice(userID: account.id, digest: "b", at: Date())
            #expect(second.isNew && second.hadOthers)

            try await repository.setMutedNotices(
                userID: account.id, [.newSignIn],
                recording: AuthEvent(kind: .noticesChanged, at: Date(), userID: account.id, client: ClientInfo()))
            #expect(try await repository.account(id: account.id)?.mutedNotices == [.newSignIn])
            try await repository.deleteAccount(id: account.id, at: Date())
            try await repository.insertAccount(account)
            #expect(try await repository.rememberDevice(userID: account.id, digest: "a", at: Date()).hadOthers == false)
        }
    }
}
