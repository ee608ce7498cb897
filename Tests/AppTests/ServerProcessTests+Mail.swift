import Foundation
import HTTPTypes
import QSPPTestSupport
import Testing

@testable import Services

/// A `qspp serve` killed in the middle of sending mail loses none, and sends again only what was in
/// flight when it died.
extension ServerProcessTests {
    @Test(arguments: Backend.all)
    func aServerKilledWhileSendingLosesNothingAndRepeatsOnlyWhatWasInFlight(backend: Backend) async throws {
        let url = try await databaseURL(backend)
        let relay = try SMTPServerProcess(mode: "slow")
        let environment = [
            "QSPP_SMTP_URL": "smtp://mailer:s3cret%20pass@localhost:\(relay.port)",
            "QSPP_SMTP_CA_FILE": relay.certificate.certificate, "QSPP_SMTP_TIMEOUT": "1",
            "QSPP_REGISTER_RATE_LIMIT": "100000", "QSPP_MAIL_FROM": "privacy@qspp.example",
        ]
        let server = try ServerProcess(databaseURL: url, environment: environment)
        try await server.waitUntilListening()
        // Each registration queues a confirmation link, each request a reset link: two messages apiece.
        let emails = (0..<30).map { _ in "kill-\(UUID().uuidString.lowercased())@example.com" }
        for email in emails {
            let registered = try await server.request(
                .post, "/v1/auth/register", json: #"{"email":"\#(email)","password":"\#(testPassword)"}"#,
                authorized: false)
            #expect(registered.status == .accepted)
            let forgot = try await server.request(
                .post, "/v1/auth/password/forgot", json: #"{"email":"\#(email)"}"#, authorized: false)
            #expect(forgot.status == .accepted)
        }
        let expected = 2 * emails.count
        try await waitUntil("the first messages arrived") { try relay.messages().count >= 4 }
        server.signal(SIGKILL)
        #expect(await server.waitForExit() == SIGKILL)
        #expect(try relay.messages().count < expected, "everything went out before the kill: the test proves nothing")

        let restarted = try ServerProcess(databaseURL: url, environment: environment)
        try await restarted.waitUntilListening()
        // What the dead server had leased waits for its lease to end, then goes out.
        let messageID = /\r\nMessage-ID: (<[^>]+>)\r\n/
        func distinct() throws -> [String: [ReceivedMessage]] {
            Dictionary(grouping: try relay.messages()) { String($0.data.firstMatch(of: messageID)?.1 ?? "") }
        }
        try await waitUntil("every message arrived", timeout: .seconds(90)) { try distinct().count >= expected }
        try await Task.sleep(for: .seconds(1))
        let copies = try distinct()
        let received = copies.values.map(\.count).reduce(0, +)
        #expect(copies.count == expected && copies[""] == nil)
        #expect(Set(copies.values.map { $0[0].rcptTos[0] }) == Set(emails))
        // At least once: a copy more only of what was in flight at the kill, a batch at most, each with
        // its original's Message-ID (which is how it was counted as a copy).
        print("SIGKILL while sending: \(expected) messages, \(received - expected) sent twice")
        #expect(received - expected <= MailOutboxSender.batchSize)
        restarted.signal(SIGTERM)
        #expect(await restarted.waitForExit() == 0)
    }
}
