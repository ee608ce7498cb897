import Foundation
import Identity
import Outbox
import PQCrypto
import QSPPTestSupport
import Testing

/// The notices a person gets by mail, each queued with the change that causes it: a sign-in from a
/// new device (which they may turn off), and two-factor authentication turned on or off.
@Suite("Account notices")
struct NoticeTests {
    static let laptop = ClientInfo(ipAddress: "192.0.2.1", userAgent: "Firefox/140 (laptop)")
    static let phone = ClientInfo(ipAddress: "198.51.100.7", userAgent: "Safari/19 (phone)")

    func queued(_ services: InMemoryServices, _ template: MailTemplateName) -> [OutboundMail] {
        services.identityRepository.queuedMail.filter { $0.template == template }
    }

    @Test func aSignInFromANewDeviceIsMailedUnlessTurnedOff() async throws {
        let services = try InMemoryServices()
        let account = try await services.register("devices@example.com")
        _ = try await services.logIn("devices@example.com", from: Self.laptop)
        _ = try await services.logIn("devices@example.com", from: Self.laptop)
        #expect(queued(services, .newSignIn).isEmpty, "the first device, and the same one again, are not news")

        let grant = try await services.logIn("devices@example.com", from: Self.phone)
        let notice = try #require(queued(services, .newSignIn).first)
        #expect(queued(services, .newSignIn).count == 1)
        #expect(notice.recipient == "devices@example.com" && notice.subject == account.subjectID)
        #expect(notice.values["browser"] == "Safari/19 (phone)" && notice.values["address"] == "198.51.100.7")

        let user = try await services.identity.authenticate(accessToken: grant.accessToken)
        try await services.identity.setMutedNotices(user: user, [.newSignIn], client: Self.phone)
        #expect(try await services.identity.account(id: account.id)?.mutedNotices == [.newSignIn])
        _ = try await services.logIn("devices@example.com", from: ClientInfo(userAgent: "curl/8"))
        #expect(queued(services, .newSignIn).count == 1)
        await #expect(throws: IdentityError.self) {
            try await services.identity.setMutedNotices(user: user, [.passwordChanged], client: Self.phone)
        }
        let kinds = try await services.identity.authEvents(userID: account.id).map(\.kind)
        #expect(kinds.contains(.noticesChanged))
    }

    @Test func turningTwoFactorOnOrOffIsMailed() async throws {
        let services = try InMemoryServices()
        let account = try await services.register("mfa-notice@example.com")
        let grant = try await services.logIn("mfa-notice@example.com", from: Self.laptop)
        let user = try await services.identity.authenticate(accessToken: grant.accessToken)
        _ = try await services.identity.beginTOTPSetup(user: user, client: Self.laptop)
        let sealed = try #require(try await services.identity.account(id: account.id)?.sealedTOTPSecret)
        let totp = TOTP(
            secret: try services.masterKey.open(sealed, context: IdentityService.totpContext(account.id)))
        let codes = try await services.identity.confirmTOTP(
            user: user, code: totp.code(step: TOTP.step(at: Date())), client: Self.laptop)
        #expect(queued(services, .mfaEnabled).map(\.recipient) == ["mfa-notice@example.com"])
        #expect(queued(services, .mfaDisabled).isEmpty)
        try await services.identity.disableMFA(user: user, code: codes[0], password: nil, client: Self.laptop)
        #expect(queued(services, .mfaDisabled).count == 1)
    }
}
