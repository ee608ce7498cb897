import Foundation
import HTTPTypes
import HummingbirdTesting
import Identity
import QSPPTestSupport
import Testing

@Suite("MFA API")
struct MFAAPITests {
    @Test(arguments: Backend.all)
    func totpIsEnforcedAtLoginAndCodesCannotBeReplayed(backend: Backend) async throws {
        try await withApp(backend) { api in
            let user = try await api.newUser()
            let setup = try await api.send(.post, "/v1/me/mfa/totp", token: user.accessToken).object()
            let secret = try #require(setup["secret"] as? String)
            #expect((setup["otpauthUri"] as? String)?.hasPrefix("otpauth://totp/") == true)
            #expect((setup["qrCodeSvg"] as? String)?.hasPrefix("<svg") == true)
            try await api.send(.post, "/v1/me/mfa/totp/confirm", json: #"{"code":"000000x"}"#, token: user.accessToken)
                .expectProblem(.unauthorized)

            let first = try totpCode(secret)
            let confirmed = try await api.send(
                .post, "/v1/me/mfa/totp/confirm", json: #"{"code":"\#(first)"}"#, token: user.accessToken)
            #expect(confirmed.status == .ok)
            let recoveryCodes = try #require(try confirmed.object()["recoveryCodes"] as? [String])
            #expect(recoveryCodes.count == 10)
            #expect(try await api.send(.get, "/v1/me", token: user.accessToken).object()["mfaEnabled"] as? Bool == true)

            // The password alone no longer logs in.
            let step1 = try await api.login(user.email)
            #expect(step1.status == .ok)
            let challenge = try step1.object()
            #expect(challenge["status"] as? String == "mfa_required")
            #expect(challenge["accessToken"] == nil)
            #expect(step1.headers[.setCookie] == nil)
            let mfaToken = try #require(challenge["mfaToken"] as? String)
            // The challenge is not an access token.
            try await api.send(.get, "/v1/me", token: mfaToken).expectProblem(.unauthorized)

            // The code used at confirmation cannot be used again.
            try await api.send(
                .post, "/v1/auth/mfa", json: #"{"mfaToken":"\#(mfaToken)","code":"\#(first)"}"#, token: nil
            )
            .expectProblem(.unauthorized)
            let second = try await freshTOTPCode(secret, after: first)
            let completed = try await api.send(
                .post, "/v1/auth/mfa", json: #"{"mfaToken":"\#(mfaToken)","code":"\#(second)"}"#, token: nil)
            #expect(completed.status == .ok)
            let accessToken = try #require(try completed.object()["accessToken"] as? String)
            #expect(try jwtPart(accessToken, 1)["amr"] as? [String] == ["pwd", "otp"])
            try await api.send(
                .post, "/v1/auth/mfa", json: #"{"mfaToken":"\#(mfaToken)","code":"\#(second)"}"#, token: nil
            )
            .expectProblem(.unauthorized)

            // A recovery code works once, in any case and spacing.
            let step2 = try #require(try await api.login(user.email).object()["mfaToken"] as? String)
            let recovery = recoveryCodes[0].uppercased().replacingOccurrences(of: "-", with: " ")
            #expect(
                try await api.send(
                    .post, "/v1/auth/mfa", json: #"{"mfaToken":"\#(step2)","code":"\#(recovery)"}"#, token: nil
                )
                .status == .ok)
            try await api.send(
                .post, "/v1/auth/mfa", json: #"{"mfaToken":"\#(step2)","code":"\#(recovery)"}"#, token: nil
            )
            .expectProblem(.unauthorized)
            #expect(
                try await api.send(.get, "/v1/me", token: accessToken).object()["recoveryCodesRemaining"] as? Int == 9)
            // A challenge that made a session is spent, whatever valid code comes with it next.
            let replayed = try await api.send(
                .post, "/v1/auth/mfa", json: #"{"mfaToken":"\#(step2)","code":"\#(recoveryCodes[1])"}"#, token: nil)
            #expect(try replayed.expectProblem(.unauthorized).contains("used already"))

            // Disabling needs the password or a code; another user cannot touch it.
            let stranger = try await api.newUser()
            try await api.send(
                .post, "/v1/me/mfa/disable", json: #"{"password":"\#(testPassword)"}"#, token: stranger.accessToken
            )
            .expectProblem(.conflict)
            try await api.send(.post, "/v1/me/mfa/disable", json: "{}", token: accessToken).expectProblem(.unauthorized)
            try await api.send(
                .post, "/v1/me/mfa/disable", json: #"{"password":"not the password"}"#, token: accessToken
            )
            .expectProblem(.unauthorized)
            #expect(
                try await api.send(
                    .post, "/v1/me/mfa/disable", json: #"{"password":"\#(testPassword)"}"#, token: accessToken
                )
                .status == .noContent)
            #expect(try await api.login(user.email).object()["accessToken"] is String)

            let kinds = Set(try await api.services.identity.authEvents(userID: UUID(uuidString: user.id)).map(\.kind))
            for kind in [
                AuthEvent.Kind.mfaEnabled, .mfaChallenged, .mfaSucceeded, .mfaFailed, .recoveryCodeUsed, .mfaDisabled,
            ] {
                #expect(kinds.contains(kind), "missing audit event \(kind)")
            }
        }
    }
}
