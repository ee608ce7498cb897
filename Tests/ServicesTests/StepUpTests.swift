import Foundation
import Identity
import PQCrypto
import QSPPTestSupport
import Testing

/// Changes that would let whoever holds a stolen session keep the account (a new email, a second factor)
/// need fresh proof of the person: a recent sign-in, or their current password.
@Suite("Step-up authentication")
struct StepUpTests {
    struct Fixture {
        let clock = TestClock()
        let repository = InMemoryIdentityRepository()
        let identity: IdentityService
        let user: AuthenticatedUser

        init() async throws {
            identity = try await InMemoryServices.identity(over: repository, clock: clock)
            _ = try await identity.register(email: "step-up@example.com", password: testPassword, client: ClientInfo())
            guard
                case .authenticated(let grant) = try await identity.login(
                    email: "step-up@example.com", password: testPassword, rememberMe: false, client: ClientInfo())
            else {
                Issue.record("the sign-in needed a second factor")
                throw CancellationError()
            }
            user = AuthenticatedUser(
                userID: grant.account.id, sessionID: grant.sessionID, roles: [.user], authenticationMethods: ["pwd"])
        }
    }

    @Test func aRecentSignInIsEnoughAndAnOldOneNeedsThePassword() async throws {
        let fixture = try await Fixture()
        let identity = fixture.identity
        fixture.clock.advance(IdentityService.stepUpWindow - 30)
        _ = try await identity.beginTOTPSetup(user: fixture.user)
        let asked = try await identity.rectifyOwn(
            fixture.user, email: "new@example.com", displayName: nil, currentPassword: nil, client: ClientInfo())
        #expect(asked.emailChangeMailed)

        fixture.clock.advance(60)
        await #expect(throws: IdentityError.recentAuthenticationRequired) {
            _ = try await identity.beginTOTPSetup(user: fixture.user)
        }
        await #expect(throws: IdentityError.recentAuthenticationRequired) {
            _ = try await identity.rectifyOwn(
                fixture.user, email: "taken-over@example.com", displayName: nil, currentPassword: nil,
                client: ClientInfo())
        }
        await #expect(throws: IdentityError.invalidCredentials) {
            _ = try await identity.rectifyOwn(
                fixture.user, email: "taken-over@example.com", displayName: nil, currentPassword: "not the password",
                client: ClientInfo())
        }
        // Only the new address was mailed a link; the account stays where it is until it is followed.
        #expect(
            fixture.repository.queuedMail.filter { $0.template == .emailChange }.map(\.recipient) == ["new@example.com"]
        )
        #expect(try await identity.account(id: fixture.user.userID)?.email.normalized == "step-up@example.com")

        // A display name, or the same email in another case, is not a takeover.
        let renamed = try await identity.rectifyOwn(
            fixture.user, email: "STEP-UP@example.com", displayName: "Ada", currentPassword: nil, client: ClientInfo())
        #expect(renamed.account.displayName == "Ada" && !renamed.emailChangeMailed)

        _ = try await identity.beginTOTPSetup(user: fixture.user, currentPassword: testPassword)
        let moved = try await identity.rectifyOwn(
            fixture.user, email: "moved@example.com", displayName: nil, currentPassword: testPassword,
            client: ClientInfo())
        #expect(moved.emailChangeMailed)
    }
}
