import Foundation
import HTTPTypes
import Identity
import Mail
import QSPPTestSupport
import Testing

@testable import App

/// Password reset end to end: the link goes out through the outbox to a real SMTP server (aiosmtpd,
/// STARTTLS and AUTH), the test follows it from the message the server received, and the API answers
/// the same for an address with no account.
@Suite("Password reset API", .serialized)
struct PasswordResetAPITests {
    /// Mail to `server` over required STARTTLS, trusting its certificate only.
    static func relay(_ server: SMTPServerProcess) -> (inout AppConfiguration) -> Void {
        { configuration in
            configuration.mail.smtp = try? SMTPSettings(
                url: "smtp://mailer:s3cret%20pass@localhost:\(server.port)",
                trustRootsFile: server.certificate.certificate)
            configuration.mail.sender = try! MailAddress("privacy@qspp.example", displayName: "QSPP")
        }
    }

    /// The messages to `recipient` with `subject` once there are `count` of them, oldest first, read by
    /// Python.
    static func messages(
        to recipient: String, subject: String, count: Int, on server: SMTPServerProcess
    ) async throws -> [ParsedMessage] {
        for _ in 0..<200 {
            let received = try server.messages().filter { $0.rcptTos == [recipient] }
            #expect(received.allSatisfy { $0.tls && $0.login == "mailer" && $0.mailFrom == "privacy@qspp.example" })
            let matching = try received.map { try parsedByPython($0.data) }.filter { $0.subject == subject }
            if matching.count >= count {
                #expect(matching.count == count)
                return matching.sorted { $0.date < $1.date }
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        Issue.record("no mail \"\(subject)\" reached \(recipient)")
        throw CancellationError()
    }

    static func token(in message: ParsedMessage) throws -> String {
        let text = try #require(message.parts["text/plain"])
        let match = try #require(text.firstMatch(of: /reset-password\?token=([A-Za-z0-9_-]+)/))
        return String(match.1)
    }

    @Test(arguments: Backend.all)
    func aForgottenPasswordIsResetThroughTheMailedLink(backend: Backend) async throws {
        let server = try SMTPServerProcess(mode: "starttls")
        try await withApp(backend, isolated: true, configure: Self.relay(server)) { api in
            let user = try await api.newUser()
            let forgot = try await api.send(
                .post, "/v1/auth/password/forgot", json: #"{"email":"\#(user.email.uppercased())"}"#, token: nil)
            #expect(forgot.status == .accepted)
            var known = try forgot.object()
            let unknownResponse = try await api.send(
                .post, "/v1/auth/password/forgot", json: #"{"email":"nobody-\#(UUID())@example.com"}"#, token: nil)
            #expect(unknownResponse.status == .accepted)
            var unknown = try unknownResponse.object()
            known["requestId"] = nil
            unknown["requestId"] = nil
            #expect(NSDictionary(dictionary: known) == NSDictionary(dictionary: unknown))

            let request = try #require(
                try await Self.messages(to: user.email, subject: "Reset your QSPP password", count: 1, on: server).first
            )
            #expect(request.defects == [])
            #expect(request.parts["text/html"]?.contains("reset-password?token=") == true)
            let token = try Self.token(in: request)
            #expect(request.parts["text/plain"]?.hasPrefix("Someone asked") == true)

            let newPassword = "a brand new passphrase 7"
            try await api.send(
                .post, "/v1/auth/password/reset", json: #"{"token":"\#(token)","newPassword":"short"}"#, token: nil
            ).expectProblem(.badRequest)
            let reset = try await api.send(
                .post, "/v1/auth/password/reset", json: #"{"token":"\#(token)","newPassword":"\#(newPassword)"}"#,
                token: nil)
            #expect(reset.status == .ok)
            // Every session ended; the old password is gone, the new one works.
            try await api.refresh(user.refreshToken).expectProblem(.unauthorized)
            try await api.send(.get, "/v1/me", token: user.accessToken).expectProblem(.unauthorized)
            #expect(try await api.login(user.email).status == .unauthorized)
            #expect(try await api.login(user.email, password: newPassword).status == .ok)

            for bad in [token, "forged", String(repeating: "x", count: 300)] {
                #expect(
                    try await api.send(
                        .post, "/v1/auth/password/reset",
                        json: #"{"token":"\#(bad)","newPassword":"yet another passphrase 8"}"#, token: nil
                    ).expectProblem(.badRequest).contains("link"))
            }
            _ = try await Self.messages(to: user.email, subject: "Your QSPP password was changed", count: 1, on: server)
            // Exactly three messages (the confirmation link from registration, the reset link and the
            // notice): nothing was sent twice, nothing to the unknown address.
            try await Task.sleep(for: .milliseconds(1500))
            #expect(try server.messages().count == 3)
        }
    }

    @Test(arguments: Backend.all)
    func adminsSeeDeadMailWithoutItsContentAndCanQueueItAgain(backend: Backend) async throws {
        try await withApp(backend, isolated: true) { configuration in
            // Nothing listens on port 1: every attempt is refused, and one attempt is all there is.
            configuration.mail.smtp = try? SMTPSettings(url: "smtp://mailer:secret@localhost:1")
            configuration.mail.retry.maximumAttempts = 1
        } _: { api in
            let user = try await api.newUser()
            try await api.send(.get, "/v1/admin/mail?state=dead", token: user.accessToken).expectProblem(.forbidden)
            try await api.send(.get, "/v1/admin/mail?state=lost", token: api.adminToken).expectProblem(.badRequest)
            try await api.send(.get, "/v1/admin/mail?limit=0", token: api.adminToken).expectProblem(.badRequest)
            try await api.send(.post, "/v1/admin/mail/\(UUID())/retry", token: api.adminToken).expectProblem(.notFound)
            try await api.send(.post, "/v1/admin/mail/nonsense/retry", token: api.adminToken).expectProblem(.notFound)
            let forgot = try await api.send(
                .post, "/v1/auth/password/forgot", json: #"{"email":"\#(user.email)"}"#, token: nil)
            #expect(forgot.status == .accepted)
            let row = try await Self.deadMail(of: user.id, api)
            #expect(row["template"] as? String == "password-reset" && row["attempts"] as? Int == 1)
            #expect((row["lastError"] as? String)?.contains("could not be reached") == true)
            let listing = String(
                decoding: try JSONSerialization.data(withJSONObject: row), as: UTF8.self)
            #expect(!listing.contains(user.email) && !listing.contains("token"))

            let id = try #require(row["id"] as? String)
            #expect(
                try await api.send(.post, "/v1/admin/mail/\(id)/retry", token: user.accessToken).status == .forbidden)
            #expect(try await api.send(.post, "/v1/admin/mail/\(id)/retry", token: api.adminToken).status == .accepted)
            // Queued again, tried again, dead again: the relay is still down.
            _ = try await Self.deadMail(of: user.id, api)
            let audit = try await api.services.identity.authEvents(userID: nil, limit: 50)
            #expect(audit.contains { $0.kind == .mailRequeued && $0.details["mail"] == id })
        }
    }

    /// The dead reset link of `subject` once the sender has given up on it.
    static func deadMail(of subject: String, _ api: API) async throws -> [String: Any] {
        for _ in 0..<200 {
            let dead = try await api.send(.get, "/v1/admin/mail?state=dead", token: api.adminToken).object()
            if let row = (dead["mail"] as? [[String: Any]])?.first(where: {
                $0["subjectId"] as? String == subject && $0["template"] as? String == "password-reset"
            }) {
                return row
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        Issue.record("no dead mail for \(subject)")
        throw CancellationError()
    }
}
