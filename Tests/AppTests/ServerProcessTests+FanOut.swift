import Foundation
import HTTPTypes
import HummingbirdTesting
import QSPPTestSupport
import Testing

/// A downstream system played by Tests/Interop/downstream_system.py: it verifies each task with the
/// `standardwebhooks` library and answers, slowly, with an answer signed by the same library; or it
/// fails every delivery.
final class DownstreamSystemProcess: @unchecked Sendable {
    let process = Process()
    let port: Int
    let recordPath = temporaryPath("qspp-downstream", extension: "jsonl")

    init(secret: String, mode: String, delay: Double = 0, port: Int) throws {
        _ = FileManager.default.createFile(atPath: recordPath, contents: nil)
        self.port = try startPythonServer(
            process, "downstream_system.py", [String(port), secret, recordPath, mode, String(delay)],
            needs: "standardwebhooks from PyPI")
    }

    func records() throws -> [[String: Any]] {
        try String(contentsOfFile: recordPath, encoding: .utf8).split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}

/// Data-subject requests fanned out from a live `qspp serve` to two simulated systems, one slow and
/// one failing: the slow one's signed answers settle its tasks (an export's data reaches the
/// person's export), the failing one's tasks wait until staff record an exception, and only then do
/// the requests complete.
extension ServerProcessTests {
    func json(_ response: TestClient.Response) throws -> [String: Any] {
        let bytes = try #require(response.body)
        return try #require(try JSONSerialization.jsonObject(with: Data(bytes.readableBytesView)) as? [String: Any])
    }

    /// An endpoint at a port not yet listening, and its secret.
    func systemEndpoint(_ server: ServerProcess, name: String, port: Int) async throws -> (id: String, secret: String) {
        let created = try await server.request(
            .post, "/v1/admin/webhooks",
            json: #"{"url":"http://127.0.0.1:\#(port)/qspp","events":["request.created"],"description":"\#(name)"}"#)
        #expect(created.status == .created)
        let body = try json(created)
        let endpoint = try #require(body["endpoint"] as? [String: Any])
        return (try #require(endpoint["id"] as? String), try #require(body["secret"] as? String))
    }

    func tasks(_ server: ServerProcess, _ request: String) async throws -> [String: [String: Any]] {
        let tasks = try json(try await server.request(.get, "/v1/requests/\(request)/tasks"))["tasks"]
        return Dictionary(
            uniqueKeysWithValues: (tasks as? [[String: Any]] ?? []).map { ($0["system"] as? String ?? "", $0) })
    }

    func fileOnBehalf(_ server: ServerProcess, _ subject: String, _ kind: String) async throws -> String {
        let filed = try await server.request(
            .post, "/v1/subjects/\(subject)/requests",
            json: #"{"kind":"\#(kind)","identityVerification":"checked the customer number by phone"}"#)
        #expect(filed.status == .created)
        return try #require(try json(filed)["id"] as? String)
    }

    @Test(arguments: Backend.all)
    func requestsFanOutToASlowAndAFailingSystem(backend: Backend) async throws {
        let server = try ServerProcess(
            databaseURL: try await databaseURL(backend), environment: ["QSPP_WEBHOOK_PRIVATE_NETWORKS": "true"])
        try await server.waitUntilListening()
        // A system needs its endpoint's secret to start, and the endpoint its port: ports come first.
        let (slowPort, failingPort) = (try freePort(), try freePort())
        let slowEndpoint = try await systemEndpoint(server, name: "warehouse", port: slowPort)
        let failingEndpoint = try await systemEndpoint(server, name: "crm", port: failingPort)
        let slow = try DownstreamSystemProcess(secret: slowEndpoint.secret, mode: "slow", delay: 1, port: slowPort)
        let failing = try DownstreamSystemProcess(secret: failingEndpoint.secret, mode: "failing", port: failingPort)
        for (name, endpoint) in [("Warehouse", slowEndpoint.id), ("Legacy CRM", failingEndpoint.id)] {
            let created = try await server.request(
                .post, "/v1/admin/systems", json: #"{"name":"\#(name)","webhookId":"\#(endpoint)"}"#)
            #expect(created.status == .created)
        }

        let email = "person-\(UUID().uuidString.lowercased())@example.com"
        #expect(
            try await server.request(
                .post, "/v1/auth/register", json: #"{"email":"\#(email)","password":"\#(testPassword)"}"#,
                authorized: false
            ).status == .accepted)
        let login = try await server.request(
            .post, "/v1/auth/login", json: #"{"email":"\#(email)","password":"\#(testPassword)"}"#, authorized: false)
        let subject = try #require((try json(login)["user"] as? [String: Any])?["id"] as? String)

        // An access request: the slow system returns data; the failing one never answers.
        let access = try await fileOnBehalf(server, subject, "access")
        try await waitUntil("the slow system answered", timeout: .seconds(60)) {
            try await tasks(server, access)["Warehouse"]?["state"] as? String == "done"
        }
        // Its first delivery (the request's creation, then its task, in order for the person) fails.
        try await waitUntil("the failing system was tried", timeout: .seconds(60)) { try !failing.records().isEmpty }
        #expect(try await tasks(server, access)["Legacy CRM"]?["state"] as? String == "open")
        #expect(
            try await server.request(
                .post, "/v1/requests/\(access)/transitions", json: #"{"status":"in_progress"}"#
            ).status == .ok)
        #expect(
            try await server.request(
                .post, "/v1/requests/\(access)/transitions", json: #"{"status":"completed"}"#
            ).status == .conflict)
        let crmTask = try #require(try await tasks(server, access)["Legacy CRM"]?["id"] as? String)
        #expect(
            try await server.request(
                .post, "/v1/requests/\(access)/tasks/\(crmTask)/exception",
                json: #"{"reason":"the CRM is being decommissioned; its data was checked by hand"}"#
            ).status == .ok)
        let export = try await server.request(.get, "/v1/subjects/\(subject)/export?reason=access+request")
        #expect(export.status == .ok)
        let files = try ExportAPITests.unzip(Data(try #require(export.body).readableBytesView))
        let downstream = String(decoding: try #require(files["downstream-systems.jsonl"]), as: UTF8.self)
        #expect(downstream.contains(#""system":"Warehouse""#) && downstream.contains("12.50"))
        #expect(downstream.contains(subject), "the system returned this person's data")
        #expect(
            try await server.request(
                .post, "/v1/requests/\(access)/transitions", json: #"{"status":"completed"}"#
            ).status == .ok)

        // An opt-out: QSPP withdraws at once; the request completes when the last system is settled.
        let optOut = try await fileOnBehalf(server, subject, "opt_out")
        try await waitUntil("the opt-out fanned out", timeout: .seconds(30)) {
            try await tasks(server, optOut).count == 2
        }
        let fulfilled = try json(try await server.request(.post, "/v1/requests/\(optOut)/fulfilment"))
        #expect((fulfilled["request"] as? [String: Any])?["status"] as? String == "in_progress")
        try await waitUntil("the slow system confirmed the opt-out", timeout: .seconds(60)) {
            try await tasks(server, optOut)["Warehouse"]?["state"] as? String == "done"
        }
        let request = try json(try await server.request(.get, "/v1/requests/\(optOut)"))
        #expect(request["status"] as? String == "in_progress", "the failing system is still open")
        let optOutTask = try #require(try await tasks(server, optOut)["Legacy CRM"]?["id"] as? String)
        #expect(
            try await server.request(
                .post, "/v1/requests/\(optOut)/tasks/\(optOutTask)/exception",
                json: #"{"reason":"the CRM stores no sale or sharing flags"}"#
            ).status == .ok)
        #expect(try json(try await server.request(.get, "/v1/requests/\(optOut)"))["status"] as? String == "completed")

        // The slow system's answers verified on both sides; nothing was refused.
        let answered = try slow.records().filter { $0["answered"] != nil }
        #expect(answered.count == 2 && answered.allSatisfy { $0["status"] as? Int == 200 }, "\(answered)")
        #expect(try (slow.records() + failing.records()).allSatisfy { $0["refused"] == nil })
        server.signal(SIGTERM)
        #expect(await server.waitForExit() == 0)
    }
}
