import Foundation
import Identity
import Mail
import Outbox
import QSPPTestSupport
import Services
import Storage
import Synchronization
import Testing

/// The mail outbox and the reset tokens that fill it, alike on SQLite and PostgreSQL: mail exists
/// exactly when the change that queued it does, leases never overlap, outcomes need the lease, an
/// erased subject's mail is dropped, and the sender retries, gives up and delivers once.
@Suite("Mail outbox conformance")
struct MailOutboxConformanceTests {
    static func account(locale: String? = nil) throws -> Account {
        Account(
            id: UUID(), email: try EmailAddress("mail-\(UUID().uuidString.lowercased())@example.com"),
            passwordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA", roles: [.user], createdAt: Date(),
            locale: locale)
    }

    static func resetMail(for account: Account, at date: Date = Date()) -> OutboundMail {
        OutboundMail(
            subject: account.subjectID, template: .passwordReset, locale: account.locale,
            recipient: account.email.normalized, values: ["link": "https://qspp.example/reset-password?token=t"],
            createdAt: date)
    }

    static func token(
        for account: Account, secret: String = OpaqueSecret.generateToken(), lifetime: TimeInterval = 900
    )
        -> AccountToken
    {
        let now = Date()
        return AccountToken(
            digest: OpaqueSecret.digest(secret), purpose: .passwordReset, userID: account.id, issuedAt: now,
            expiresAt: now.addingTimeInterval(lifetime))
    }

    @Test(arguments: Backend.all)
    func aTokenAndItsMailAreStoredTogetherAndTheMailIsSealedAtRest(backend: Backend) async throws {
        try await withIsolatedStore(backend) { store in
            let account = try Self.account(locale: "de")
            try await store.identity.insertAccount(account)
            #expect(try await store.identity.account(id: account.id)?.locale == "de")
            let mail = Self.resetMail(for: account)
            try await store.identity.insertAccountToken(Self.token(for: account), queueing: mail)
            // Nothing in the row shows the address or the link.
            let raw = try await store.sqlRows("SELECT payload, template, state FROM mail_outbox")
            #expect(raw.count == 1)
            #expect(!raw[0][0].contains(account.email.normalized) && !raw[0][0].contains("reset-password"))
            #expect(raw[0][1] == "password-reset" && raw[0][2] == "pending")

            let leased = try await store.mailOutbox.lease(limit: 10, now: Date(), for: 60)
            #expect(leased.count == 1 && leased[0].attempt == 1)
            let opened = try #require(leased[0].mail)
            #expect(opened.id == mail.id && opened.subject == mail.subject && opened.locale == "de")
            #expect(opened.recipient == mail.recipient && opened.values == mail.values)
            #expect(abs(opened.createdAt.timeIntervalSince(mail.createdAt)) < 0.000_01)
            #expect(try await store.mailOutbox.markSent(leased[0].id, lease: leased[0].lease, at: Date()))
            // Sent mail keeps its record for admins, but no longer its recipient or values.
            #expect(try await store.sqlRows("SELECT count(*) FROM mail_outbox WHERE payload IS NULL") == [["1"]])
            #expect(try await store.mailOutbox.mails(in: .sent, limit: 10).map(\.id) == [mail.id])
            #expect(try await store.mailOutbox.lease(limit: 10, now: Date(), for: 60).isEmpty)
        }
    }

    @Test(arguments: Backend.all)
    func aNewTokenReplacesTheOldAndAResetSpendsItOnceEndingEverySession(backend: Backend) async throws {
        try await withIsolatedStore(backend) { store in
            let repository = store.identity
            let account = try Self.account()
            try await repository.insertAccount(account)
            let first = OpaqueSecret.generateToken()
            let second = OpaqueSecret.generateToken()
            try await repository.insertAccountToken(
                Self.token(for: account, secret: first), queueing: Self.resetMail(for: account))
            try await repository.insertAccountToken(
                Self.token(for: account, secret: second), queueing: Self.resetMail(for: account))
            #expect(
                try await repository.accountToken(digest: OpaqueSecret.digest(first), purpose: .passwordReset) == nil)
            let live = try #require(
                try await repository.accountToken(digest: OpaqueSecret.digest(second), purpose: .passwordReset))
            #expect(live.userID == account.id)

            let session = Session(
                id: UUID(), userID: account.id, createdAt: Date(), lastUsedAt: Date(), client: ClientInfo(),
                rememberMe: false, authenticationMethods: ["pwd"])
            let refresh = RefreshTokenRecord(
                digest: OpaqueSecret.digest(OpaqueSecret.generateToken()), sessionID: session.id, userID: account.id,
                issuedAt: Date(), expiresAt: Date().addingTimeInterval(3600))
            try await repository.insertSession(session, firstToken: refresh, recording: [], clearingThrottle: nil)

            let notice = OutboundMail(
                subject: account.subjectID, template: .passwordChanged, locale: nil,
                recipient: account.email.normalized, createdAt: Date())
            let reset = { @Sendable (digest: String) in
                try await repository.resetPassword(
                    tokenDigest: digest, userID: account.id, hash: "new-hash", at: Date(),
                    recording: AuthEvent(kind: .passwordReset, at: Date(), userID: account.id, client: ClientInfo()),
                    queueing: notice)
            }
            #expect(try await reset(OpaqueSecret.digest(first)) == nil)
            #expect(try await repository.account(id: account.id)?.passwordHash == account.passwordHash)
            #expect(try await reset(OpaqueSecret.digest(second)) == [session.id])
            #expect(try await repository.account(id: account.id)?.passwordHash == "new-hash")
            #expect(try await repository.session(id: session.id)?.revokedAt != nil)
            // Spent: a second use changes nothing and queues nothing.
            #expect(try await reset(OpaqueSecret.digest(second)) == nil)
            let queued = try await store.mailOutbox.lease(limit: 10, now: Date(), for: 60)
            #expect(queued.compactMap(\.mail?.template) == [.passwordReset, .passwordReset, .passwordChanged])
        }
    }

    @Test(arguments: Backend.all)
    func anExpiredTokenResetsNothing(backend: Backend) async throws {
        try await withIsolatedStore(backend) { store in
            let account = try Self.account()
            try await store.identity.insertAccount(account)
            let secret = OpaqueSecret.generateToken()
            try await store.identity.insertAccountToken(
                Self.token(for: account, secret: secret, lifetime: -1), queueing: Self.resetMail(for: account))
            let ended = try await store.identity.resetPassword(
                tokenDigest: OpaqueSecret.digest(secret), userID: account.id, hash: "new-hash", at: Date(),
                recording: AuthEvent(kind: .passwordReset, at: Date(), userID: account.id, client: ClientInfo()),
                queueing: Self.resetMail(for: account))
            #expect(ended == nil)
            #expect(try await store.identity.account(id: account.id)?.passwordHash == account.passwordHash)
            #expect(try await store.identity.purgeExpired(now: Date(), throttleWindow: 900) >= 1)
        }
    }

    @Test(arguments: Backend.all)
    func concurrentLeasesNeverShareAMessageAndOutcomesNeedTheLease(backend: Backend) async throws {
        try await withIsolatedStore(backend) { store in
            var queued: Set<UUID> = []
            for _ in 0..<40 {
                let account = try Self.account()
                try await store.identity.insertAccount(account)
                let mail = Self.resetMail(for: account)
                queued.insert(mail.id)
                try await store.identity.insertAccountToken(Self.token(for: account), queueing: mail)
            }
            let outbox = store.mailOutbox
            let batches = try await withThrowingTaskGroup(of: [LeasedMail].self) { group in
                for _ in 0..<4 { group.addTask { try await outbox.lease(limit: 15, now: Date(), for: 60) } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let ids = batches.flatMap { $0.map(\.id) }
            #expect(ids.count == 40 && Set(ids) == queued)

            let item = batches.first { !$0.isEmpty }![0]
            #expect(try await !outbox.markSent(item.id, lease: UUID(), at: Date()))
            // A lease that ran out is taken over; its first holder can no longer record an outcome.
            let later = Date().addingTimeInterval(120)
            let retaken = try await outbox.lease(limit: 100, now: later, for: 60)
            #expect(retaken.count == 40 && retaken.allSatisfy { $0.attempt == 2 })
            #expect(try await !outbox.markSent(item.id, lease: item.lease, at: later))
            let again = try #require(retaken.first { $0.id == item.id })
            #expect(try await outbox.markSent(item.id, lease: again.lease, at: later))
        }
    }

    @Test(arguments: Backend.all)
    func failuresRetryLaterThenDieAndAnAdminCanQueueThemAgain(backend: Backend) async throws {
        try await withIsolatedStore(backend) { store in
            let account = try Self.account()
            try await store.identity.insertAccount(account)
            try await store.identity.insertAccountToken(
                Self.token(for: account), queueing: Self.resetMail(for: account))
            let outbox = store.mailOutbox
            let now = Date()
            let first = try #require(try await outbox.lease(limit: 1, now: now, for: 60).first)
            #expect(
                try await outbox.markFailed(
                    first.id, lease: first.lease, error: "connection failed", retryAt: now.addingTimeInterval(30)))
            #expect(try await outbox.lease(limit: 1, now: now.addingTimeInterval(29), for: 60).isEmpty)
            let pending = try await outbox.mails(in: .pending, limit: 10)
            #expect(pending.first?.lastError == "connection failed" && pending.first?.attempts == 1)
            let second = try #require(try await outbox.lease(limit: 1, now: now.addingTimeInterval(31), for: 60).first)
            #expect(second.attempt == 2)
            #expect(try await outbox.markFailed(second.id, lease: second.lease, error: "rejected (550)", retryAt: nil))
            let dead = try await outbox.mails(in: .dead, limit: 10)
            #expect(dead.map(\.id) == [first.id] && dead[0].lastError == "rejected (550)")
            #expect(try await outbox.lease(limit: 1, now: now.addingTimeInterval(3600), for: 60).isEmpty)
            #expect(try await outbox.requeue(first.id, at: now))
            #expect(try await !outbox.requeue(first.id, at: now))
            let revived = try #require(try await outbox.lease(limit: 1, now: now, for: 60).first)
            #expect(revived.attempt == 1 && revived.mail != nil)
        }
    }

    @Test(arguments: Backend.all)
    func erasingTheSubjectDropsItsMailUnread(backend: Backend) async throws {
        try await withIsolatedStore(backend) { store in
            let kept = try Self.account()
            let erased = try Self.account()
            for account in [kept, erased] {
                try await store.identity.insertAccount(account)
                try await store.identity.insertAccountToken(
                    Self.token(for: account), queueing: Self.resetMail(for: account))
            }
            // One of the erased subject's messages is already leased when the erasure lands.
            let inFlight = try await store.mailOutbox.lease(limit: 10, now: Date(), for: 60)
            _ = try await store.erasures.shred(subject: erased.subjectID, requestID: nil, at: Date())
            let dropped = try await store.mailOutbox.mails(in: .dropped, limit: 10)
            #expect(dropped.map(\.subject) == [erased.subjectID])
            let erasedLease = try #require(inFlight.first { $0.mail?.subject == erased.subjectID })
            #expect(try await !store.mailOutbox.markSent(erasedLease.id, lease: erasedLease.lease, at: Date()))
            #expect(try await store.mailOutbox.mails(in: .pending, limit: 10).map(\.subject) == [kept.subjectID])
            #expect(try await store.mailOutbox.purge(before: Date().addingTimeInterval(1)) == 1)
        }
    }

    @Test(arguments: Backend.all)
    func theSenderDeliversRetriesAndGivesUp(backend: Backend) async throws {
        try await withIsolatedStore(backend) { store in
            let account = try Self.account(locale: "de")
            try await store.identity.insertAccount(account)
            try await store.identity.insertAccountToken(
                Self.token(for: account), queueing: Self.resetMail(for: account))
            let clock = TestClock()
            let failing = FailingTransport()
            let sender = MailOutboxSender(
                outbox: store.mailOutbox, transport: failing, from: try MailAddress("privacy@qspp.example"),
                policy: OutboxRetryPolicy(maximumAttempts: 3, firstDelay: 10, longestDelay: 100), logger: testLogger,
                now: { clock.now })
            #expect(try await sender.sendDue() == 1)
            #expect(try await sender.sendDue() == 0)
            let retry = try #require(try await store.mailOutbox.mails(in: .pending, limit: 1).first?.nextAttemptAt)
            // Backoff with jitter: at least half the first delay, at most all of it.
            #expect(retry.timeIntervalSince(clock.now) >= 5 && retry.timeIntervalSince(clock.now) <= 10)
            clock.advance(10)
            #expect(try await sender.sendDue() == 1)
            clock.advance(20)
            #expect(try await sender.sendDue() == 1)
            #expect(failing.attempts == 3)
            #expect(try await store.mailOutbox.mails(in: .dead, limit: 1).first?.attempts == 3)

            // Queued again by an admin, it goes out through a working transport, in German.
            let dead = try #require(try await store.mailOutbox.mails(in: .dead, limit: 1).first)
            #expect(try await store.mailOutbox.requeue(dead.id, at: clock.now))
            let folder = temporaryPath("qspp-outbox", extension: "d")
            let working = MailOutboxSender(
                outbox: store.mailOutbox, transport: MailDirectory(path: folder),
                from: try MailAddress("privacy@qspp.example"), logger: testLogger, now: { clock.now })
            #expect(try await working.sendDue() == 1)
            let files = try FileManager.default.contentsOfDirectory(atPath: folder)
            #expect(files.count == 1)
            let parsed = try parsedByPython(
                try String(contentsOfFile: folder + "/" + files[0], encoding: .utf8))
            #expect(parsed.subject == "Ihr QSPP-Passwort zurücksetzen")
            #expect(parsed.to.first?.last == account.email.normalized)
            #expect(parsed.messageId == "<\(dead.id.uuidString.lowercased())@qspp.example>")
            #expect(parsed.parts["text/plain"]?.contains("https://qspp.example/reset-password?token=t") == true)
            #expect(parsed.parts["text/html"]?.contains("lang=\"de\"") == true)
            #expect(parsed.defects == [])
            try? FileManager.default.removeItem(atPath: folder)
        }
    }
}

/// A transport whose relay is down: every attempt fails as a refused connection does.
final class FailingTransport: MailTransport, Sendable {
    private let count = Mutex(0)
    var attempts: Int { count.withLock { $0 } }

    func send(_ message: MailMessage) async throws(MailError) {
        count.withLock { $0 += 1 }
        throw MailError(.connectionFailed, step: "connect")
    }
}
