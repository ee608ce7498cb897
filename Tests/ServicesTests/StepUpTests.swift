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
        let identity: IdentityService
        let user: AuthenticatedUser

        init() async throws {
            identity = try await InMemoryServices.identity(over: InMemoryIdentityRepository(), clock: clock)
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
        _ = try await identity.rectifyOwn(
            fixture.user, email: "new@example.com", displayName: nil, currentPassword: nil, client: ClientInfo())

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
        #expect(try await identity.account(id: fixture.user.userID)?.email.normalized == "new@example.com")

        // A display name, or the same email in another case, is not a takeover.
        let renamed = try await identity.rectifyOwn(
            fixture.user, email: "NEW@example.com", displayName: "Ada", currentPassword: nil, client: ClientInfo())
        #expect(renamed.displayName == "Ada")

        _ = try await identity.beginTOTPSetup(user: fixture.user, currentPassword: testPassword)
        let moved = try await identity.rectifyOwn(
            fixture.user, email: "moved@example.com", displayName: nil, currentPassword: testPassword,
            client: ClientInfo())
        #expect(moved.email.normalized == "moved@example.com")
    }
}
