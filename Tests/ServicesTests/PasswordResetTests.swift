import Foundation
import Identity
import Outbox
import PQCrypto
import QSPPTestSupport
import Testing

/// Password reset by mail: the same answer whether or not the account exists, a link that works once
/// and for fifteen minutes, the second factor still asked for, every session ended, and a notice.
@Suite("Password reset")
struct PasswordResetTests {
    struct Fixture {
        let clock = TestClock()
        let masterKey: MasterKey
        let repository = InMemoryIdentityRepository()
        let identity: IdentityService
        let account: Account

        init(locale: String? = nil) async throws {
            masterKey = try MasterKey(base64Seed: testMasterKey)
            identity = try await InMemoryServices.identity(over: repository, clock: clock)
            account = try #require(
                try await identity.register(
                    email: "reset@example.com", password: testPassword, client: ClientInfo(), locale: locale))
        }

        /// The token in the newest reset link queued.
        func mailedToken() throws -> String {
            let mail = try #require(repository.queuedMail.last { $0.template == .passwordReset })
            let link = try #require(mail.values["link"])
            #expect(link.hasPrefix("https://qspp.test/reset-password?token="))
            return String(try #require(link.split(separator: "=").last))
        }

        func signIn(_ password: String = testPassword) async throws -> TokenGrant {
            guard
                case .authenticated(let grant) = try await identity.login(
                    email: "reset@example.com", password: password, rememberMe: false, client: ClientInfo())
            else { throw CancellationError() }
            return grant
        }

        /// Turns MFA on with a known TOTP secret and one recovery code.
        func enableMFA() async throws -> (TOTP, String) {
            let totp = TOTP.generate()
            let recovery = OpaqueSecret.generateRecoveryCodes(count: 1)[0]
            try await repository.updateMFA(
                userID: account.id,
                sealedSecret: try masterKey.seal(totp.secret, context: IdentityService.totpContext(account.id)),
                enabled: true, recoveryCodeDigests: [OpaqueSecret.digest(recovery)])
            return (totp, recovery)
        }
    }

    @Test func anUnknownAddressGetsTheSameAnswerAndNoMail() async throws {
        let fixture = try await Fixture()
        try await fixture.identity.requestPasswordReset(email: "nobody@example.com", client: ClientInfo())
        #expect(fixture.repository.queuedMail.map(\.template) == [.emailVerification])
        await #expect(throws: IdentityError.self) {
            try await fixture.identity.requestPasswordReset(email: "not an address", client: ClientInfo())
        }
    }

    @Test func aResetEndsEverySessionMailsANoticeAndWorksOnce() async throws {
        let fixture = try await Fixture(locale: "de-CH,de;q=0.9")
        let session = try await fixture.signIn()
        try await fixture.identity.requestPasswordReset(email: "Reset@Example.com", client: ClientInfo())
        let request = try #require(fixture.repository.queuedMail.last)
        #expect(request.recipient == "reset@example.com" && request.locale == "de" && request.values["mfa"] == "")
        let token = try fixture.mailedToken()
        #expect(try await !fixture.identity.passwordResetNeedsSecondFactor(token: token))

        // A weak password is refused and leaves the link usable.
        await #expect(throws: IdentityError.self) {
            try await fixture.identity.resetPassword(
                token: token, newPassword: "short", code: nil, client: ClientInfo())
        }
        let newPassword = "a brand new passphrase 7"
        try await fixture.identity.resetPassword(
            token: token, newPassword: newPassword, code: nil, client: ClientInfo())
        await #expect(throws: IdentityError.self) {
            try await fixture.identity.authenticate(accessToken: session.accessToken)
        }
        await #expect(throws: IdentityError.invalidCredentials) { try await fixture.signIn() }
        _ = try await fixture.signIn(newPassword)
        #expect(
            fixture.repository.queuedMail.map(\.template) == [.emailVerification, .passwordReset, .passwordChanged])
        await #expect(throws: IdentityError.invalidLink) {
            try await fixture.identity.resetPassword(
                token: token, newPassword: "yet another passphrase 8", code: nil, client: ClientInfo())
        }
        let kinds = try await fixture.identity.authEvents(userID: fixture.account.id).map(\.kind)
        #expect(kinds.contains(.passwordResetRequested) && kinds.contains(.passwordReset))
    }

    @Test func aLinkExpiresAfterFifteenMinutesAndOnlyTheNewestWorks() async throws {
        let fixture = try await Fixture()
        try await fixture.identity.requestPasswordReset(email: "reset@example.com", client: ClientInfo())
        let older = try fixture.mailedToken()
        try await fixture.identity.requestPasswordReset(email: "reset@example.com", client: ClientInfo())
        let newer = try fixture.mailedToken()
        await #expect(throws: IdentityError.invalidLink) {
            try await fixture.identity.passwordResetNeedsSecondFactor(token: older)
        }
        fixture.clock.advance(IdentityService.passwordResetLifetime + 1)
        await #expect(throws: IdentityError.invalidLink) {
            try await fixture.identity.resetPassword(
                token: newer, newPassword: "a brand new passphrase 7", code: nil, client: ClientInfo())
        }
        await #expect(throws: IdentityError.invalidLink) {
            try await fixture.identity.resetPassword(
                token: "forged", newPassword: "a brand new passphrase 7", code: nil, client: ClientInfo())
        }
        _ = try await fixture.signIn()
    }

    @Test func withMFAOnTheResetAsksForTheSecondFactorOrARecoveryCode() async throws {
        let fixture = try await Fixture()
        let (totp, recovery) = try await fixture.enableMFA()
        try await fixture.identity.requestPasswordReset(email: "reset@example.com", client: ClientInfo())
        #expect(fixture.repository.queuedMail.last?.values["mfa"] == "yes")
        let token = try fixture.mailedToken()
        #expect(try await fixture.identity.passwordResetNeedsSecondFactor(token: token))
        let newPassword = "a brand new passphrase 7"
        await #expect(throws: IdentityError.invalidMFACode) {
            try await fixture.identity.resetPassword(
                token: token, newPassword: newPassword, code: nil, client: ClientInfo())
        }
        await #expect(throws: IdentityError.invalidMFACode) {
            try await fixture.identity.resetPassword(
                token: token, newPassword: newPassword, code: "000000", client: ClientInfo())
        }
        try await fixture.identity.resetPassword(
            token: token, newPassword: newPassword, code: recovery, client: ClientInfo())

        // A second reset, with a code from the authenticator this time.
        try await fixture.identity.requestPasswordReset(email: "reset@example.com", client: ClientInfo())
        let second = try fixture.mailedToken()
        let code = totp.code(step: TOTP.step(at: fixture.clock.now))
        try await fixture.identity.resetPassword(
            token: second, newPassword: "another brand new passphrase 9", code: code, client: ClientInfo())
    }
}
