import Foundation
import HTTPTypes
import QSPPTestSupport
import Synchronization
import Testing

/// A receiver that checks every delivery with other people's code (Tests/Interop/webhook_receiver.py:
/// the `standardwebhooks` library for the HMAC signature, dilithium-py for the JWS) and records it.
final class WebhookReceiverProcess: @unchecked Sendable {
    let process = Process()
    let port: Int
    let recordPath = temporaryPath("qspp-webhooks", extension: "jsonl")

    /// Listens on `port`; each answer waits `delay` seconds after the delivery is recorded.
    init(port: Int, secret: String, jwks: String, delay: Double = 0) throws {
        _ = FileManager.default.createFile(atPath: recordPath, contents: nil)
        self.port = try startPythonServer(
            process, "webhook_receiver.py", [String(port), secret, jwks, recordPath, String(delay)],
            needs: "standardwebhooks and dilithium-py from PyPI")
    }

    /// What arrived, in order: `id`, `type` and `data` for a delivery that verified, `refused` for one
    /// that did not.
    func records() throws -> [[String: Any]] {
        let text = try String(contentsOfFile: recordPath, encoding: .utf8)
        return try text.split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}

/// Webhooks through what only live processes show: a receiver that is down and then up, a server
/// SIGKILLed while a delivery is in flight, and a PostgreSQL restart. Every committed event arrives
/// at least once, verified by the receiver, and each subject's events arrive in order.
extension ServerProcessTests {
    /// Registers an endpoint at `receiverPort` for consent events; returns its id and secret.
    func registerEndpoint(_ server: ServerProcess, receiverPort: Int) async throws -> (id: String, secret: String) {
        let created = try await server.request(
            .post, "/v1/admin/webhooks",
            json: #"{"url":"http://127.0.0.1:\#(receiverPort)/hook","events":["consent.granted","consent.withdrawn"]}"#)
        #expect(created.status == .created)
        let bytes = try #require(created.body)
        let body = try #require(try JSONSerialization.jsonObject(with: Data(bytes.readableBytesView)) as? [String: Any])
        let endpoint = try #require(body["endpoint"] as? [String: Any])
        return (try #require(endpoint["id"] as? String), try #require(body["secret"] as? String))
    }

    /// Records one decision and returns the `webhook-id` its event will have.
    func decide(_ server: ServerProcess, _ subject: String, _ decision: String) async throws -> String? {
        let recorded = try await server.request(
            .post, "/v1/subjects/\(subject)/consents", json: #"{"purpose":"marketing","decision":"\#(decision)"}"#)
        guard recorded.status == .created, let body = recorded.body,
            let object = try JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any],
            let sequence = (object["events"] as? [[String: Any]])?.first?["ledgerSequence"] as? Int
        else { return nil }
        return "evt_\(sequence)"
    }

    /// Every expected event arrived verified, at least once, in order per subject by first arrival.
    func expectArrived(_ expected: [String: [String]], at receiver: WebhookReceiverProcess) throws {
        let records = try receiver.records()
        #expect(records.allSatisfy { $0["refused"] == nil }, "\(records.filter { $0["refused"] != nil })")
        var firstArrivals: [String: [String]] = [:]
        var seen: Set<String> = []
        for record in records {
            guard let id = record["id"] as? String, seen.insert(id).inserted,
                let subject = (record["data"] as? [String: Any])?["subjectId"] as? String
            else { continue }
            firstArrivals[subject, default: []].append(id)
        }
        #expect(firstArrivals == expected)
    }

    func allArrived(_ expected: [String: [String]], at receiver: WebhookReceiverProcess) throws -> Bool {
        let ids = Set(try receiver.records().compactMap { $0["id"] as? String })
        return expected.values.joined().allSatisfy(ids.contains)
    }

    @Test(arguments: Backend.all)
    func webhooksSurviveAReceiverOutageAndAServerKilledMidDelivery(backend: Backend) async throws {
        let url = try await databaseURL(backend)
        let environment = ["QSPP_WEBHOOK_PRIVATE_NETWORKS": "true"]
        let port = try freePort()
        let server = try ServerProcess(databaseURL: url, port: port, environment: environment)
        try await server.waitUntilListening()
        let receiverPort = try freePort()
        let (id, secret) = try await registerEndpoint(server, receiverPort: receiverPort)

        // The receiver is down: the first attempts fail, and the events wait.
        let subjects = [uniqueSubjectText("ana"), uniqueSubjectText("ben")]
        var expected: [String: [String]] = [:]
        for decision in ["granted", "withdrawn", "granted"] {
            for subject in subjects {
                expected[subject, default: []].append(try #require(try await decide(server, subject, decision)))
            }
        }
        try await waitUntil("an attempt failed") {
            let log = try await server.request(.get, "/v1/admin/webhooks/\(id)/deliveries?state=pending")
            return log.body.map { String(buffer: $0).contains("no answer") } ?? false
        }

        // Up, and slow: the server is killed while a delivery waits for its answer.
        let receiver = try WebhookReceiverProcess(
            port: receiverPort, secret: secret, jwks: "http://127.0.0.1:\(port)/.well-known/jwks.json", delay: 1)
        try await waitUntil("a delivery arrived", timeout: .seconds(60)) { try !receiver.records().isEmpty }
        server.signal(SIGKILL)
        #expect(await server.waitForExit() == SIGKILL)
        #expect(try !allArrived(expected, at: receiver), "everything arrived before the kill: the test proves nothing")

        let restarted = try ServerProcess(databaseURL: url, port: port, environment: environment)
        try await restarted.waitUntilListening()
        for decision in ["withdrawn", "granted"] {
            for subject in subjects {
                expected[subject, default: []].append(try #require(try await decide(restarted, subject, decision)))
            }
        }
        try await waitUntil("every event arrived", timeout: .seconds(120)) { try allArrived(expected, at: receiver) }
        try expectArrived(expected, at: receiver)
        restarted.signal(SIGTERM)
        #expect(await restarted.waitForExit() == 0)
    }

    @Test(.enabled(if: ProcessInfo.processInfo.environment["QSPP_TEST_OUTAGE_POSTGRES_URL"] != nil))
    func webhooksSurviveAPostgreSQLRestart() async throws {
        let environment = ProcessInfo.processInfo.environment
        let serverEnvironment = ["QSPP_WEBHOOK_PRIVATE_NETWORKS": "true"]
        let port = try freePort()
        let server = try ServerProcess(
            databaseURL: environment["QSPP_TEST_OUTAGE_POSTGRES_URL"]!, port: port, environment: serverEnvironment)
        try await server.waitUntilListening()
        let receiverPort = try freePort()
        let (_, secret) = try await registerEndpoint(server, receiverPort: receiverPort)
        let receiver = try WebhookReceiverProcess(
            port: receiverPort, secret: secret, jwks: "http://127.0.0.1:\(port)/.well-known/jwks.json")
        let subjects = [uniqueSubjectText("ana"), uniqueSubjectText("ben")]
        var expected: [String: [String]] = [:]
        for decision in ["granted", "withdrawn", "granted"] {
            for subject in subjects {
                expected[subject, default: []].append(try #require(try await decide(server, subject, decision)))
            }
        }

        try await shell(environment["QSPP_TEST_OUTAGE_STOP"]!)
        try await Task.sleep(for: .seconds(1))
        try await shell(environment["QSPP_TEST_OUTAGE_START"]!)
        for decision in ["withdrawn", "granted"] {
            for subject in subjects {
                var id: String?
                for _ in 0..<60 where id == nil {
                    id = try await decide(server, subject, decision)
                    if id == nil { try await Task.sleep(for: .milliseconds(500)) }
                }
                expected[subject, default: []].append(try #require(id, "writes resume after the restart"))
            }
        }
        try await waitUntil("every event arrived", timeout: .seconds(120)) { try allArrived(expected, at: receiver) }
        try expectArrived(expected, at: receiver)
        server.signal(SIGTERM)
        #expect(await server.waitForExit() == 0)
    }
}
