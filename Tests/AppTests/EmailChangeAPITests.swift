import Foundation
import HTTPTypes
import Identity
import QSPPTestSupport
import Testing

/// Moving an account to another email: the link goes to the new address, the old one is told with a
/// link back, and following that ends every session. Links are single-use; forged ones change nothing.
@Suite("Email change API")
struct EmailChangeAPITests {
    static func token(_ message: ParsedMessage, path: String) throws -> String {
        let text = try #require(message.parts["text/plain"])
        let match = try #require(text.firstMatch(of: try Regex("\(path)\\?token=([A-Za-z0-9_-]+)")))
        return try #require(match.output[1].substring.map(String.init))
    }

    @Test(arguments: Backend.all)
    func theOldAddressCanMoveTheAccountBackAndEndEverySession(backend: Backend) async throws {
        try await withApp(backend) { api in
            let user = try await api.newUser()
            let newEmail = "moved-\(UUID().uuidString.lowercased())@example.com"
            #expect(
                try await api.send(.patch, "/v1/me", json: #"{"email":"\#(newEmail)"}"#, token: user.accessToken)
                    .status == .ok)
            let move = try Self.token(
                try await api.mailed(to: newEmail, subject: "Move your QSPP account to this address"),
                path: "confirm-email-change")
            // A forged, or over-long, token changes nothing.
            let forgedFirst = move.hasPrefix("A") ? "B" : "A"
            for forged in [forgedFirst + move.dropFirst(), String(repeating: "a", count: 200)] {
                try await api.send(
                    .post, "/v1/auth/email/change/confirm", json: #"{"token":"\#(forged)"}"#, token: nil
                ).expectProblem(.badRequest)
            }
            #expect(
                try await api.send(.post, "/v1/auth/email/change/confirm", json: #"{"token":"\#(move)"}"#, token: nil)
                    .status == .ok)
            let notice = try await api.mailed(to: user.email, subject: "Your QSPP account moved to another email")
            #expect(notice.parts["text/plain"]?.contains("within 7 days") == true)
            let undo = try Self.token(notice, path: "undo-email-change")
            // The undo link cannot confirm.
            try await api.send(.post, "/v1/auth/email/change/confirm", json: #"{"token":"\#(undo)"}"#, token: nil)
                .expectProblem(.badRequest)
            // Whoever moved the account resets its password from the new address, and adds a passkey:
            // neither takes the way back away, nor survives it.
            #expect(
                try await api.send(.post, "/v1/auth/password/forgot", json: #"{"email":"\#(newEmail)"}"#, token: nil)
                    .status == .accepted)
            let reset = try Self.token(
                try await api.mailed(to: newEmail, subject: "Reset your QSPP password"), path: "reset-password")
            #expect(
                try await api.send(
                    .post, "/v1/auth/password/reset",
                    json: #"{"token":"\#(reset)","newPassword":"an intruder's passphrase 99"}"#, token: nil
                ).status == .ok)
            let intruder = try #require(
                try await api.login(newEmail, password: "an intruder's passphrase 99").object()["accessToken"]
                    as? String)
            let (intrudersKey, _) = try await api.addPasskey(
                TestUser(id: user.id, email: newEmail, password: "", accessToken: intruder, refreshToken: ""))

            #expect(
                try await api.send(.post, "/v1/auth/email/change/undo", json: #"{"token":"\#(undo)"}"#, token: nil)
                    .status == .ok)
            try await api.send(.get, "/v1/me", token: intruder).expectProblem(.unauthorized)
            try await api.login(newEmail, password: "an intruder's passphrase 99").expectProblem(.unauthorized)
            try await api.passkeySignIn(intrudersKey).expectProblem(.badRequest)
            let back = try await api.mailed(to: user.email, subject: "Your QSPP account is back at this address")
            #expect(back.parts["text/plain"]?.contains("all of those were removed") == true)
            try await api.send(.post, "/v1/auth/email/change/undo", json: #"{"token":"\#(undo)"}"#, token: nil)
                .expectProblem(.badRequest)
            // The owner chooses a new password with a link to the address the account is back at.
            #expect(
                try await api.send(.post, "/v1/auth/password/forgot", json: #"{"email":"\#(user.email)"}"#, token: nil)
                    .status == .accepted)
            let ownReset = try Self.token(
                try await api.mailed(to: user.email, subject: "Reset your QSPP password"), path: "reset-password")
            #expect(
                try await api.send(
                    .post, "/v1/auth/password/reset",
                    json: #"{"token":"\#(ownReset)","newPassword":"the owner's new passphrase 7"}"#, token: nil
                ).status == .ok)
            #expect(try await api.login(user.email, password: "the owner's new passphrase 7").status == .ok)
            // The address it left is free again.
            #expect(try await api.register(newEmail).status == .accepted)
            #expect(try await api.login(newEmail).status == .ok)
        }
    }

    @Test(arguments: Backend.all)
    func aNewAddressNeedsAFreshSignInAndAnotherAccountsAddressNeverMoves(backend: Backend) async throws {
        try await withApp(backend) { api in
            let first = try await api.newUser()
            let second = try await api.newUser()
            // Asking to move onto another account's address is answered the same, and mails nothing.
            let answer = try await api.send(
                .patch, "/v1/me", json: #"{"email":"\#(second.email)"}"#, token: first.accessToken)
            #expect(try answer.object()["emailChangeMailed"] as? Bool == true)
            let audit = try await api.services.identity.authEvents(userID: UUID(uuidString: first.id), limit: 5)
            #expect(audit.contains { $0.kind == .emailChangeRequested })
            // The page of the link shows a button only, as mail scanners open links.
            let page = try await api.send(.get, "/confirm-email-change?token=abc", token: nil)
            #expect(page.status == .ok)
            let html = String(buffer: page.body)
            #expect(html.contains(#"action="/confirm-email-change""#) && html.contains(#"value="abc""#))
        }
    }
}
