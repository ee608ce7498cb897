import Foundation
import HTTPTypes
import Mail
import Outbox
import QSPPTestSupport
import Testing

/// The outbox under faults, with a real SMTP server: a relay that is down and then up gets every
/// message once, whichever replica sends it.
@Suite("Mail faults", .serialized)
struct MailFaultTests {
    @Test(arguments: Backend.all)
    func aRelayDownThenUpGetsEveryMessageOnce(backend: Backend) async throws {
        let certificate = try TestCertificate()
        let port = try freePort()
        try await withApp(backend, isolated: true) { configuration in
            configuration.mail.smtp = try? SMTPSettings(
                url: "smtp://mailer:s3cret%20pass@localhost:\(port)", trustRootsFile: certificate.certificate)
            configuration.mail.retry = OutboxRetryPolicy(maximumAttempts: 1000, firstDelay: 0.2, longestDelay: 0.4)
        } _: { api in
            var users: [TestUser] = []
            for _ in 0..<10 { users.append(try await api.newUser()) }
            for user in users {
                let forgot = try await api.send(
                    .post, "/v1/auth/password/forgot", json: #"{"email":"\#(user.email)"}"#, token: nil)
                #expect(forgot.status == .accepted)
            }
            // Every message has failed at least once before the relay comes up.
            try await waitUntil("every message failed once") {
                let pending =
                    try await api.send(
                        .get, "/v1/admin/mail?state=pending&limit=500", token: api.adminToken
                    ).object()["mail"] as? [[String: Any]] ?? []
                let ours = pending.filter { row in users.contains { $0.id == row["subjectId"] as? String } }
                // Each user's confirmation link from registration, and the reset link.
                return ours.count == 20 && ours.allSatisfy { ($0["attempts"] as? Int ?? 0) >= 1 }
            }
            let relay = try SMTPServerProcess(mode: "starttls", port: port, certificate: certificate)
            try await waitUntil("every message arrived") { try relay.messages().count >= 20 }
            try await Task.sleep(for: .seconds(1))
            let received = try relay.messages()
            #expect(received.count == 20)
            let perUser = Dictionary(grouping: received.flatMap(\.rcptTos)) { $0 }.mapValues(\.count)
            #expect(perUser == Dictionary(uniqueKeysWithValues: users.map { ($0.email, 2) }))
        }
    }
}

/// Polls `condition` until it holds, or records `what` as never happening.
func waitUntil(
    _ what: String, timeout: Duration = .seconds(30), _ condition: () async throws -> Bool
) async throws {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(100))
    }
    Issue.record("timed out waiting until \(what)")
    throw CancellationError()
}
