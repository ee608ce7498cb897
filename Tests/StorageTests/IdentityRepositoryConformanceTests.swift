import Foundation
import Identity
import QSPPTestSupport
import Storage
import Synchronization
import Testing

/// The identity tables behave identically on SQLite and PostgreSQL, including under concurrency.
@Suite("IdentityRepository conformance")
struct IdentityRepositoryConformanceTests {
    func makeAccount() throws -> Account {
        Account(
            id: UUID(), email: try EmailAddress("user-\(UUID().uuidString.lowercased())@example.com"),
            passwordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA", roles: [.user], createdAt: Date())
    }

    func makeSession(for account: Account, at date: Date = Date()) -> (Session, RefreshTokenRecord) {
        let session = Session(
            id: UUID(), userID: account.id, createdAt: date, lastUsedAt: date,
            client: ClientInfo(ipAddress: "192.0.2.1", userAgent: "conformance"), rememberMe: true,
            authenticationMethods: ["pwd", "otp"])
        let token = RefreshTokenRecord(
            digest: OpaqueSecret.digest(OpaqueSecret.generateToken()), sessionID: session.id, userID: account.id,
            issuedAt: date, expiresAt: date.addingTimeInterval(3600))
        return (session, token)
    }

    @Test(arguments: Backend.all)
    func accountsAreUniqueByEmailAndDeletionFreesTheEmailAndEndsSessions(backend: Backend) async throws {
        try await withStore(backend) { store in
            let repository = store.identity
            let account = try makeAccount()
            try await repository.insertAccount(account)
            let found = try #require(try await repository.account(email: account.email))
            #expect(found.id == account.id && found.roles == [.user] && found.passwordHash == account.passwordHash)
            #expect(try await repository.account(id: account.id)?.email == account.email)
            var twin = try makeAccount()
            twin.email = account.email
            await #expect(throws: IdentityError.emailTaken) { try await repository.insertAccount(twin) }

            let (session, token) = makeSession(for: account)
            try await repository.insertSession(session, firstToken: token, recording: [], clearingThrottle: nil)
            try await repository.deleteAccount(id: account.id, at: Date())
            #expect(try await repository.account(id: account.id) == nil)
            #expect(try await repository.session(id: session.id)?.revokedAt != nil)
            try await repository.insertAccount(twin)
        }
    }

    @Test(arguments: Backend.all)
    func totpStepsAndRecoveryCodesAreSingleUse(backend: Backend) async throws {
        try await withStore(backend) { store in
            let repository = store.identity
            let account = try makeAccount()
            try await repository.insertAccount(account)
            try await repository.updateMFA(
                userID: account.id, sealedSecret: Data([1, 2, 3]), enabled: true, recoveryCodeDigests: ["a", "b"])
            let stored = try #require(try await repository.account(id: account.id))
            #expect(stored.mfaEnabled && stored.sealedTOTPSecret == Data([1, 2, 3]))
            #expect(stored.recoveryCodesRemaining == 2)
            #expect(try await repository.consumeTOTPStep(userID: account.id, step: 100))
            #expect(try await repository.consumeTOTPStep(userID: account.id, step: 100) == false)
            #expect(try await repository.consumeTOTPStep(userID: account.id, step: 99) == false)
            #expect(try await repository.consumeTOTPStep(userID: account.id, step: 101))
            #expect(try await repository.consumeRecoveryCode(userID: account.id, digest: "a", at: Date()))
            #expect(try await repository.consumeRecoveryCode(userID: account.id, digest: "a", at: Date()) == false)
            #expect(try await repository.consumeRecoveryCode(userID: account.id, digest: "zzz", at: Date()) == false)
            #expect(try await repository.account(id: account.id)?.recoveryCodesRemaining == 1)
            // Concurrent uses of one step: exactly one wins.
            let wins = try await withThrowingTaskGroup(of: Bool.self) { group in
                for _ in 0..<10 {
                    group.addTask { try await repository.consumeTOTPStep(userID: account.id, step: 500) }
                }
                return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(wins == 1)
        }
    }

    @Test(arguments: Backend.all)
    func refreshExchangesApplyWhatTheDecisionSays(backend: Backend) async throws {
        try await withStore(backend) { store in
            let repository = store.identity
            let account = try makeAccount()
            try await repository.insertAccount(account)
            let (session, first) = makeSession(for: account)
            try await repository.insertSession(session, firstToken: first, recording: [], clearingThrottle: nil)
            let second = RefreshTokenRecord(
                digest: OpaqueSecret.digest(OpaqueSecret.generateToken()), sessionID: session.id, userID: account.id,
                issuedAt: Date(), expiresAt: Date().addingTimeInterval(3600))
            let seen = Mutex<(RefreshTokenRecord?, Session?)>((nil, nil))
            let plan = try await repository.exchangeRefreshToken(digest: first.digest, at: Date()) { token, session in
                seen.withLock { $0 = (token, session) }
                return .rotate(successor: second, countsAsGraceReuse: false)
            }
            #expect(plan == .rotate(successor: second, countsAsGraceReuse: false))
            #expect(seen.withLock { $0.0?.digest } == first.digest)
            #expect(seen.withLock { $0.1?.authenticationMethods } == ["pwd", "otp"])
            _ = try await repository.exchangeRefreshToken(digest: first.digest, at: Date()) { token, _ in
                #expect(token?.rotatedAt != nil)
                return .reject
            }
            _ = try await repository.exchangeRefreshToken(digest: second.digest, at: Date()) { token, _ in
                #expect(token != nil && token?.rotatedAt == nil)
                return .revokeFamily(sessionID: session.id)
            }
            #expect(try await repository.session(id: session.id)?.revokedAt != nil)
            _ = try await repository.exchangeRefreshToken(digest: second.digest, at: Date()) { token, _ in
                #expect(token == nil)
                return .reject
            }
        }
    }

    /// The race of GHSA-7h8m-vrxx-vr4m, at the storage layer: twelve parallel claims, five proceed. (More,
    /// queued on one row, can outlast the 5 s request deadline while the rest of the suite loads both
    /// cores; twelve still race, since all of them start before any commits.)
    @Test(arguments: Backend.all)
    func parallelThrottleClaimsNeverExceedTheLimit(backend: Backend) async throws {
        try await withStore(backend) { store in
            let repository = store.identity
            let key = "login:conformance-\(UUID())"
            let policy = LoginThrottlePolicy.standard
            let proceeded = try await withThrowingTaskGroup(of: Bool.self) { group in
                for _ in 0..<12 {
                    group.addTask {
                        try await repository.updateLoginThrottle(key: key) { policy.claim($0, now: Date()) } == .proceed
                    }
                }
                return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(proceeded == 5)
            try await repository.clearLoginThrottle(key: key)
            #expect(try await repository.updateLoginThrottle(key: key) { policy.claim($0, now: Date()) } == .proceed)
        }
    }

    @Test(arguments: Backend.all)
    func rateLimitCountsAreExactUnderConcurrencyAndResetPerWindow(backend: Backend) async throws {
        try await withStore(backend) { store in
            let repository = store.identity
            let key = "login:198.51.100.\(Int.random(in: 1...250))-\(UUID())"
            // Windows of now: older ones are what every server's housekeeping on the shared database purges.
            let window = Int64(Date().timeIntervalSince1970)
            let counts = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<12 {
                    group.addTask { try await repository.countRateLimitHits(key: key, windowStart: window, hits: 1) }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(counts.sorted() == Array(1...12))
            #expect(try await repository.countRateLimitHits(key: key, windowStart: window, hits: 5) == 17)
            #expect(try await repository.countRateLimitHits(key: key, windowStart: window + 60, hits: 3) == 3)
        }
    }

    /// The algorithm names are unique to this test, so the real keys that other tests sign with on the
    /// shared PostgreSQL database are never retired by it.
    @Test(arguments: Backend.all)
    func aNewSigningKeyRetiresTheOldOneOfItsAlgorithmOnly(backend: Backend) async throws {
        try await withStore(backend) { store in
            let repository = store.identity
            let algorithm = "test-\(UUID().uuidString.prefix(8))"
            func key(_ algorithm: String) -> StoredSigningKey {
                StoredSigningKey(
                    keyID: UUID().uuidString, algorithm: algorithm, publicKey: Data([1]), sealedPrivateKey: Data([2]),
                    createdAt: Date())
            }
            let first = key(algorithm)
            let other = key(algorithm + "-other")
            let second = key(algorithm)
            try await repository.insertSigningKey(first, retiringOthersAt: Date())
            try await repository.insertSigningKey(other, retiringOthersAt: Date())
            try await repository.insertSigningKey(second, retiringOthersAt: Date())
            let keys = Dictionary(uniqueKeysWithValues: try await repository.signingKeys().map { ($0.keyID, $0) })
            #expect(keys[first.keyID]?.retiredAt != nil)
            #expect(keys[other.keyID]?.retiredAt == nil)
            #expect(keys[second.keyID]?.retiredAt == nil)
            #expect(keys[second.keyID]?.sealedPrivateKey == Data([2]))
        }
    }

    @Test(arguments: Backend.all)
    func authEventsKeepTheirFieldsAndOrder(backend: Backend) async throws {
        try await withStore(backend) { store in
            let repository = store.identity
            let user = UUID()
            let events = [
                AuthEvent(
                    kind: .loginFailed, at: Date(), userID: user, client: ClientInfo(ipAddress: "192.0.2.9"),
                    details: ["reason": "credentials"]),
                AuthEvent(
                    kind: .loginSucceeded, at: Date(), userID: user, sessionID: UUID(),
                    client: ClientInfo(userAgent: "UA")),
            ]
            for event in events { try await repository.appendAuthEvent(event) }
            let stored = try await repository.authEvents(userID: user, limit: 10)
            #expect(stored.map(\.id) == events.reversed().map(\.id))
            #expect(stored.last?.details == ["reason": "credentials"])
            #expect(stored.last?.client.ipAddress == "192.0.2.9")
            #expect(stored.first?.sessionID == events[1].sessionID)
        }
    }

    /// On a database of its own, as is the next test: the housekeeping of any server on the shared one
    /// purges the expired rows these tests count.
    @Test(arguments: Backend.all)
    func purgingRemovesOnlyWhatCanNoLongerMatter(backend: Backend) async throws {
        try await withIsolatedStore(backend) { store in
            let repository = store.identity
            let account = try makeAccount()
            try await repository.insertAccount(account)
            let now = Date()
            let (session, token) = makeSession(for: account, at: now.addingTimeInterval(-7200))
            try await repository.insertSession(session, firstToken: token, recording: [], clearingThrottle: nil)
            let (liveSession, liveToken) = makeSession(for: account, at: now)
            try await repository.insertSession(liveSession, firstToken: liveToken, recording: [], clearingThrottle: nil)
            let policy = LoginThrottlePolicy.standard
            let stale = "login:stale-\(UUID())"
            let fresh = "login:fresh-\(UUID())"
            _ = try await repository.updateLoginThrottle(key: stale) {
                policy.claim($0, now: now.addingTimeInterval(-3600))
            }
            _ = try await repository.updateLoginThrottle(key: fresh) { policy.claim($0, now: now) }
            let oldWindow = "login:198.51.100.7-\(UUID())"
            _ = try await repository.countRateLimitHits(
                key: oldWindow, windowStart: Int64(now.timeIntervalSince1970) - 7200, hits: 1)

            #expect(try await repository.purgeExpired(now: now, throttleWindow: policy.window) >= 3)
            // The expired token is gone; the live one still exchanges.
            _ = try await repository.exchangeRefreshToken(digest: token.digest, at: now) { found, _ in
                #expect(found == nil)
                return .reject
            }
            _ = try await repository.exchangeRefreshToken(digest: liveToken.digest, at: now) { found, _ in
                #expect(found != nil)
                return .reject
            }
            // A fresh counter keeps counting; the stale one starts again.
            _ = try await repository.updateLoginThrottle(key: fresh) { state in
                #expect(state?.attempts == 1)
                return policy.claim(state, now: now)
            }
            _ = try await repository.updateLoginThrottle(key: stale) { state in
                #expect(state?.attempts == 0)
                return policy.claim(state, now: now)
            }
            #expect(
                try await repository.countRateLimitHits(
                    key: oldWindow, windowStart: Int64(now.timeIntervalSince1970), hits: 1)
                    == 1)
        }
    }

    @Test(arguments: Backend.all)
    func aChallengeIsSpentOnceAcrossConcurrentUsesAndForgottenAfterItsExpiry(backend: Backend) async throws {
        try await withIsolatedStore(backend) { store in
            let repository = store.identity
            let now = Date()
            let live = UUID().uuidString
            let outcomes = try await withThrowingTaskGroup(of: Bool.self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        try await repository.spendChallenge(id: live, expiresAt: now.addingTimeInterval(300))
                    }
                }
                return try await group.reduce(into: [Bool]()) { $0.append($1) }
            }
            #expect(outcomes.filter { $0 }.count == 1, "exactly one use wins")
            let expired = UUID().uuidString
            #expect(try await repository.spendChallenge(id: expired, expiresAt: now.addingTimeInterval(-1)))
            #expect(try await repository.purgeExpired(now: now, throttleWindow: 60) >= 1)
            #expect(try await repository.spendChallenge(id: expired, expiresAt: now.addingTimeInterval(300)))
            #expect(try await repository.spendChallenge(id: live, expiresAt: now.addingTimeInterval(300)) == false)
        }
    }
}
