import Foundation
import QSPPTestSupport
import Testing

/// The language of a person's mail: chosen at registration from `Accept-Language`, changed on their
/// profile, and used for the next message.
@Suite("Account language")
struct AccountLanguageTests {
    @Test(arguments: Backend.all)
    func theProfilesLanguageChoosesTheMailsTemplates(backend: Backend) async throws {
        try await withApp(backend) { api in
            let user = try await api.newUser()
            #expect(try await api.send(.get, "/v1/me", token: user.accessToken).object()["locale"] as? String == "en")
            let changed = try await api.send(.patch, "/v1/me", json: #"{"locale":"de-CH"}"#, token: user.accessToken)
            #expect(try changed.object()["locale"] as? String == "de")
            try await api.send(.patch, "/v1/me", json: #"{"locale":"1x"}"#, token: user.accessToken)
                .expectProblem(.badRequest)
            let forgot = try await api.send(
                .post, "/v1/auth/password/forgot", json: #"{"email":"\#(user.email)"}"#, token: nil)
            #expect(forgot.status == .accepted)
            let message = try await api.mailed(to: user.email, subject: "Ihr QSPP-Passwort")
            #expect(message.parts["text/plain"]?.contains("Minuten") == true)
            let english = try await api.send(.patch, "/v1/me", json: #"{"locale":""}"#, token: user.accessToken)
            #expect(try english.object()["locale"] as? String == "en")
        }
    }
}
