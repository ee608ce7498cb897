import Foundation
import Identity
import PQCrypto
import QSPPTestSupport
import Testing
import WebAuthn

/// A passkey challenge answers once, for the ceremony it was issued for, within its lifetime; the
/// answer is refused before its signature is even looked at otherwise.
@Suite("Passkey challenges")
struct PasskeyChallengeTests {
    static func answer(_ challenge: Data) -> RelyingParty.Assertion {
        let clientData =
            #"{"type":"webauthn.get","challenge":"\#(Base64URL.encode(challenge))","origin":"http://localhost:8080"}"#
        return RelyingParty.Assertion(
            credentialID: Data(count: 16), clientDataJSON: Data(clientData.utf8), authenticatorData: Data(count: 37),
            signature: Data(), userHandle: nil)
    }

    @Test func anExpiredOrSpentChallengeIsRefused() async throws {
        let clock = TestClock()
        let repository = InMemoryIdentityRepository()
        let identity = try await InMemoryServices.identity(over: repository, clock: clock)
        let options = try await identity.beginPasskeySignIn()
        #expect(options.userVerificationRequired && options.allowCredentials.isEmpty)
        clock.advance(IdentityService.passkeyChallengeLifetime + 1)
        await #expect(throws: IdentityError.passkeyChallengeInvalid) {
            _ = try await identity.finishPasskeySignIn(
                Self.answer(options.challenge), rememberMe: false, client: ClientInfo())
        }

        // In time, the challenge is taken; the unknown passkey is refused; the challenge is gone.
        let fresh = try await identity.beginPasskeySignIn()
        clock.advance(IdentityService.passkeyChallengeLifetime - 1)
        await #expect(throws: IdentityError.passkeyRejected("the passkey is not registered here")) {
            _ = try await identity.finishPasskeySignIn(
                Self.answer(fresh.challenge), rememberMe: false, client: ClientInfo())
        }
        await #expect(throws: IdentityError.passkeyChallengeInvalid) {
            _ = try await identity.finishPasskeySignIn(
                Self.answer(fresh.challenge), rememberMe: false, client: ClientInfo())
        }
        #expect(try await repository.authEvents(userID: nil, limit: 10).contains { $0.kind == .loginFailed })
    }

    @Test func aChallengeServesOnlyItsOwnCeremony() async throws {
        let clock = TestClock()
        let repository = InMemoryIdentityRepository()
        let identity = try await InMemoryServices.identity(over: repository, clock: clock)
        _ = try await identity.register(email: "passkey@example.com", password: testPassword, client: ClientInfo())
        guard
            case .authenticated(let grant) = try await identity.login(
                email: "passkey@example.com", password: testPassword, rememberMe: false, client: ClientInfo())
        else { throw CancellationError() }
        let user = try await identity.authenticate(accessToken: grant.accessToken)
        let creation = try await identity.beginPasskeyRegistration(user: user)
        #expect(creation.userHandle == IdentityService.userHandle(user.userID))
        #expect(creation.algorithms.first == .mlDSA65)
        await #expect(throws: IdentityError.passkeyChallengeInvalid) {
            _ = try await identity.finishPasskeySignIn(
                Self.answer(creation.challenge), rememberMe: false, client: ClientInfo())
        }
        // Registration needs a fresh sign-in.
        clock.advance(IdentityService.stepUpWindow + 1)
        await #expect(throws: IdentityError.recentAuthenticationRequired) {
            _ = try await identity.beginPasskeyRegistration(user: user)
        }
    }
}
