import Foundation
import HTTPTypes
import HummingbirdTesting
import Identity
import NIOCore
import Outbox
import QSPPTestSupport
import Testing

@testable import App

/// Data-subject requests fanned out to downstream systems, through the real router on both backends:
/// systems registered, a task per system, answers signed with the endpoint's secret (and every way an
/// answer can be forged, replayed or malformed), exceptions, the completion gate, and an access
/// export carrying what a system returned. Each test has a database of its own: a system registered
/// in the shared one would fan out every other test's requests.
@Suite("Request fan-out")
struct RequestFanOutAPITests {
    struct Endpoint {
        let id: String
        let key: SymmetricKeyBox
    }

    /// The endpoint's HMAC key, kept Sendable-free of Crypto's types in the test's signature.
    struct SymmetricKeyBox {
        let secret: String
        func sign(id: String, timestamp: Int64, body: Data) -> String {
            StandardWebhookSignature.header(
                key: StandardWebhookSignature.key(secret)!, id: id, timestamp: timestamp, body: body)
        }
    }

    static func endpoint(_ api: API) async throws -> Endpoint {
        let created = try await WebhookAPITests.register(
            api, #"{"url":"https://systems.example/qspp","events":["request.created"]}"#)
        #expect(created.status == .created)
        let body = try created.object()
        let endpoint = try #require(body["endpoint"] as? [String: Any])
        return Endpoint(
            id: try #require(endpoint["id"] as? String),
            key: SymmetricKeyBox(secret: try #require(body["secret"] as? String)))
    }

    static func system(_ api: API, _ name: String, _ endpoint: Endpoint) async throws -> String {
        let created = try await api.send(
            .post, "/v1/admin/systems", json: #"{"name":"\#(name)","webhookId":"\#(endpoint.id)"}"#)
        #expect(created.status == .created, "\(String(buffer: created.body))")
        return try #require(try created.object()["id"] as? String)
    }

    /// Files `kind` as the user, verifies it as staff, and lets the fan-out open its tasks.
    static func verifiedRequest(_ kind: String, _ user: TestUser, _ api: API) async throws -> String {
        let filed = try await api.send(.post, "/v1/me/requests", json: #"{"kind":"\#(kind)"}"#, token: user.accessToken)
        let id = try #require(try filed.object()["id"] as? String)
        #expect(
            try await api.send(.post, "/v1/requests/\(id)/transitions", json: #"{"status":"verified"}"#).status == .ok)
        try await api.services.fanOut.runDue()
        return id
    }

    static func tasks(_ api: API, _ request: String) async throws -> [String: [String: Any]] {
        let listed = try await api.send(.get, "/v1/requests/\(request)/tasks").object()
        let tasks = try #require(listed["tasks"] as? [[String: Any]])
        return Dictionary(uniqueKeysWithValues: tasks.map { ($0["system"] as? String ?? "", $0) })
    }

    static func answer(
        _ api: API, task: String, body: String, key: SymmetricKeyBox, messageID: String = "msg_\(UUID())",
        timestamp: Int64 = Int64(Date().timeIntervalSince1970), signature: String? = nil
    ) async throws -> TestResponse {
        let bytes = Data(body.utf8)
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        headers[.webhookID] = messageID
        headers[.webhookTimestamp] = String(timestamp)
        headers[.webhookSignature] = signature ?? key.sign(id: messageID, timestamp: timestamp, body: bytes)
        return try await api.send(.post, "/v1/request-tasks/\(task)/answer", json: body, token: nil, headers: headers)
    }

    static func status(_ api: API, _ request: String) async throws -> String? {
        try await api.send(.get, "/v1/requests/\(request)").object()["status"] as? String
    }

    @Test(arguments: Backend.all)
    func anErasureCompletesOnlyOnceEverySystemIsSettled(backend: Backend) async throws {
        try await withApp(backend, isolated: true) { api in
            let endpoint = try await Self.endpoint(api)
            _ = try await Self.system(api, "CRM", endpoint)
            _ = try await Self.system(api, "Mailer", endpoint)
            try await api.send(
                .post, "/v1/admin/systems", json: #"{"name":"CRM","webhookId":"\#(endpoint.id)"}"#
            ).expectProblem(.badRequest)

            let user = try await api.newUser()
            let request = try await Self.verifiedRequest("erasure", user, api)
            let tasks = try await Self.tasks(api, request)
            #expect(Set(tasks.keys) == ["CRM", "Mailer"])
            #expect(tasks.values.allSatisfy { $0["action"] as? String == "erase" && $0["state"] as? String == "open" })
            let queue = try await api.send(.get, "/v1/requests").object()["requests"] as? [[String: Any]] ?? []
            #expect(queue.first { $0["id"] as? String == request }?["openTasks"] as? Int == 2)

            // QSPP erases its own part at once; the request waits for the systems.
            let erased = try await api.send(.post, "/v1/requests/\(request)/erasure")
            #expect(erased.status == .ok)
            #expect((try erased.object()["request"] as? [String: Any])?["status"] as? String == "in_progress")
            try await api.send(.post, "/v1/requests/\(request)/transitions", json: #"{"status":"completed"}"#)
                .expectProblem(.conflict)

            let crm = try #require(tasks["CRM"]?["id"] as? String)
            let mailer = try #require(tasks["Mailer"]?["id"] as? String)
            let done = #"{"taskId":"\#(crm)","outcome":"done"}"#
            let messageID = "msg_\(UUID())"
            let answered = try await Self.answer(api, task: crm, body: done, key: endpoint.key, messageID: messageID)
            #expect(answered.status == .ok, "\(String(buffer: answered.body))")
            #expect(try answered.object()["state"] as? String == "done")
            // The same answer again, or again signed anew, changes nothing.
            try await Self.answer(api, task: crm, body: done, key: endpoint.key, messageID: messageID)
                .expectProblem(.conflict)
            #expect(try await Self.status(api, request) == "in_progress")

            // Excusing the last system completes the request with what QSPP did.
            try await api.send(.post, "/v1/requests/\(request)/tasks/\(mailer)/exception", json: #"{"reason":" "}"#)
                .expectProblem(.badRequest)
            let excused = try await api.send(
                .post, "/v1/requests/\(request)/tasks/\(mailer)/exception",
                json: #"{"reason":"the mailing tool was switched off in May"}"#)
            #expect(excused.status == .ok)
            #expect(try excused.object()["state"] as? String == "exception")
            #expect(try await Self.status(api, request) == "completed")
            let events =
                try await api.send(.get, "/v1/requests/\(request)/events").object()["events"] as? [[String: Any]]
            let reasons = (events ?? []).compactMap { $0["reason"] as? String }
            #expect(reasons.contains("exception for Mailer: the mailing tool was switched off in May"))
            #expect(reasons.last?.hasPrefix("erased by crypto-shredding") == true)
            // The erased person is still told it is complete, at the address read before the erasure.
            var completions = 0
            for state in OutboxState.allCases {
                completions += try await api.services.store.mailOutbox.mails(in: state, limit: 100)
                    .filter { $0.template == .requestCompleted }.count
            }
            #expect(completions == 1)

            let late = #"{"taskId":"\#(mailer)","outcome":"done"}"#
            try await Self.answer(api, task: mailer, body: late, key: endpoint.key).expectProblem(.conflict)
        }
    }

    @Test(arguments: Backend.all)
    func forgedReplayedAndMalformedAnswersChangeNothing(backend: Backend) async throws {
        try await withApp(backend, isolated: true) { api in
            let endpoint = try await Self.endpoint(api)
            let other = try await Self.endpoint(api)
            _ = try await Self.system(api, "CRM", endpoint)
            _ = try await Self.system(api, "Shop", other)
            let user = try await api.newUser()
            let request = try await Self.verifiedRequest("erasure", user, api)
            let tasks = try await Self.tasks(api, request)
            let crm = try #require(tasks["CRM"]?["id"] as? String)
            let shop = try #require(tasks["Shop"]?["id"] as? String)
            let done = #"{"taskId":"\#(crm)","outcome":"done"}"#
            let now = Int64(Date().timeIntervalSince1970)

            // Signed with another system's secret; a signature over other bytes; none at all.
            try await Self.answer(api, task: crm, body: done, key: other.key).expectProblem(.unauthorized)
            try await Self.answer(
                api, task: crm, body: done, key: endpoint.key,
                signature: endpoint.key.sign(id: "x", timestamp: now, body: Data("{}".utf8))
            ).expectProblem(.unauthorized)
            try await api.send(.post, "/v1/request-tasks/\(crm)/answer", json: done, token: nil)
                .expectProblem(.unauthorized)
            // Captured long ago, or dated far ahead.
            try await Self.answer(api, task: crm, body: done, key: endpoint.key, timestamp: now - 3600)
                .expectProblem(.unauthorized)
            try await Self.answer(api, task: crm, body: done, key: endpoint.key, timestamp: now + 3600)
                .expectProblem(.unauthorized)
            // A genuine signature from the other system, over an answer that names a task not its own.
            try await Self.answer(api, task: shop, body: done, key: other.key).expectProblem(.badRequest)
            // Malformed: unknown fields, outcomes, data on an erasure, not JSON, an unknown task.
            for body in [
                #"{"taskId":"\#(crm)","outcome":"done","extra":1}"#, #"{"taskId":"\#(crm)","outcome":"maybe"}"#,
                #"{"taskId":"\#(crm)","outcome":"done","data":{"a":1}}"#, "not json", #"{"outcome":"done"}"#,
            ] {
                try await Self.answer(api, task: crm, body: body, key: endpoint.key).expectProblem(.badRequest)
            }
            try await Self.answer(
                api, task: UUID().uuidString.lowercased(), body: done, key: endpoint.key
            ).expectProblem(.notFound)

            let after = try await Self.tasks(api, request)
            #expect(after.values.allSatisfy { $0["state"] as? String == "open" }, "nothing was settled")

            // Only staff read tasks or excuse them; only admins register systems.
            try await api.send(.get, "/v1/requests/\(request)/tasks", token: user.accessToken)
                .expectProblem(.forbidden)
            try await api.send(
                .post, "/v1/requests/\(request)/tasks/\(crm)/exception", json: #"{"reason":"x"}"#,
                token: user.accessToken
            ).expectProblem(.forbidden)
            try await api.send(.get, "/v1/admin/systems", token: user.accessToken).expectProblem(.forbidden)
            try await api.send(.get, "/v1/admin/systems", token: nil).expectProblem(.unauthorized)
            try await api.send(
                .post, "/v1/admin/systems", json: #"{"name":"X","webhookId":"\#(UUID())"}"#
            ).expectProblem(.badRequest)
            try await api.send(
                .post, "/v1/requests/\(request)/tasks/\(UUID())/exception", json: #"{"reason":"x"}"#
            ).expectProblem(.notFound)

            // An endpoint that carries a live system's tasks stays until the system is retired.
            try await api.send(.delete, "/v1/admin/webhooks/\(endpoint.id)").expectProblem(.conflict)
            let systems = try await api.send(.get, "/v1/admin/systems").object()["systems"] as? [[String: Any]] ?? []
            for system in systems {
                let id = try #require(system["id"] as? String)
                #expect(try await api.send(.delete, "/v1/admin/systems/\(id)").status == .noContent)
            }
            // Retired, it still awaits an answer signed with that endpoint's secret.
            try await api.send(.delete, "/v1/admin/webhooks/\(endpoint.id)").expectProblem(.conflict)
            #expect(
                try await api.send(
                    .post, "/v1/requests/\(request)/tasks/\(crm)/exception", json: #"{"reason":"retired"}"#
                ).status == .ok)
            #expect(try await api.send(.delete, "/v1/admin/webhooks/\(endpoint.id)").status == .noContent)
            let audit = try await api.services.identity.authEvents(userID: nil, limit: 50).map(\.kind)
            #expect(audit.contains(.downstreamRegistered) && audit.contains(.downstreamRetired))
        }
    }

    @Test(arguments: Backend.all)
    func anAccessExportCarriesWhatTheSystemsReturned(backend: Backend) async throws {
        try await withApp(backend, isolated: true) { api in
            let endpoint = try await Self.endpoint(api)
            _ = try await Self.system(api, "Warehouse", endpoint)
            _ = try await Self.system(api, "Archive", endpoint)
            let user = try await api.newUser()
            let request = try await Self.verifiedRequest("access", user, api)
            let tasks = try await Self.tasks(api, request)
            #expect(tasks.values.allSatisfy { $0["action"] as? String == "export" })
            let warehouse = try #require(tasks["Warehouse"]?["id"] as? String)
            let archive = try #require(tasks["Archive"]?["id"] as? String)

            try await api.send(.post, "/v1/requests/\(request)/transitions", json: #"{"status":"in_progress"}"#)
            try await api.send(.post, "/v1/requests/\(request)/transitions", json: #"{"status":"completed"}"#)
                .expectProblem(.conflict)

            let oversized = String(repeating: "x", count: 300 * 1024)
            let tooBig = #"{"taskId":"\#(warehouse)","outcome":"done","data":{"blob":"\#(oversized)"}}"#
            let refused = try await Self.answer(api, task: warehouse, body: tooBig, key: endpoint.key)
            #expect(refused.status == .contentTooLarge || refused.status == .badRequest)
            try await Self.answer(
                api, task: warehouse, body: #"{"taskId":"\#(warehouse)","outcome":"done","data":[1]}"#,
                key: endpoint.key
            ).expectProblem(.badRequest)

            // Larger than an ordinary body (the gateway lets an answer through up to its own limit).
            let notes = String(repeating: "n", count: 100_000)
            let answer =
                #"{"taskId":"\#(warehouse)","outcome":"done","data":{"notes":"\#(notes)","orders":[{"id":7,"total":"12.50"}]}}"#
            let answered = try await Self.answer(api, task: warehouse, body: answer, key: endpoint.key)
            #expect(answered.status == .ok)
            #expect(try answered.object()["hasData"] as? Bool == true)
            #expect(
                try await Self.answer(
                    api, task: archive, body: #"{"taskId":"\#(archive)","outcome":"no_data"}"#, key: endpoint.key
                ).status == .ok)

            let export = try await api.send(.get, "/v1/subjects/\(user.id)/export")
            #expect(export.status == .ok)
            let files = try ExportAPITests.unzip(Data(export.body.readableBytesView))
            let lines = String(decoding: try #require(files["downstream-systems.jsonl"]), as: UTF8.self)
                .split(separator: "\n")
            #expect(lines.count == 1)
            let row = try #require(
                try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: String])
            #expect(row["system"] == "Warehouse" && row["taskId"] == warehouse)
            let data = try JSONSerialization.jsonObject(with: Data((row["data"] ?? "").utf8)) as? [String: Any]
            #expect((data?["orders"] as? [[String: Any]])?.first?["total"] as? String == "12.50")
            #expect(data?["notes"] as? String == notes)

            #expect(
                try await api.send(.post, "/v1/requests/\(request)/transitions", json: #"{"status":"completed"}"#)
                    .status == .ok)
        }
    }

    @Test(arguments: Backend.all)
    func aRejectedRequestsOpenTasksAreCancelled(backend: Backend) async throws {
        try await withApp(backend, isolated: true) { api in
            let endpoint = try await Self.endpoint(api)
            _ = try await Self.system(api, "CRM", endpoint)
            let user = try await api.newUser()
            let request = try await Self.verifiedRequest("erasure", user, api)
            let crm = try #require(try await Self.tasks(api, request)["CRM"]?["id"] as? String)
            #expect(
                try await api.send(
                    .post, "/v1/requests/\(request)/transitions", json: #"{"status":"rejected","reason":"unfounded"}"#
                ).status == .ok)
            try await api.services.fanOut.runDue()
            #expect(try await Self.tasks(api, request)["CRM"]?["state"] as? String == "cancelled")
            try await Self.answer(
                api, task: crm, body: #"{"taskId":"\#(crm)","outcome":"done"}"#, key: endpoint.key
            ).expectProblem(.conflict)
            try await api.send(
                .post, "/v1/requests/\(request)/tasks/\(crm)/exception", json: #"{"reason":"late"}"#
            ).expectProblem(.conflict)
            #expect(try await api.services.fanOut.runDue() == 0, "nothing is left to cancel")
        }
    }

    @Test(arguments: Backend.all)
    func theQueueFlagsRequestsWaitingForSystemsAndCountsOverdueTasks(backend: Backend) async throws {
        try await withApp(backend, isolated: true) { api in
            let endpoint = try await Self.endpoint(api)
            _ = try await Self.system(api, "CRM", endpoint)
            let user = try await api.newUser()
            let request = try await Self.verifiedRequest("erasure", user, api)
            let requestID = try #require(UUID(uuidString: request))

            let admin = Browser(api.client)
            _ = try await admin.get("/login")
            let email = "staff-\(UUID().uuidString.prefix(8))@qspp.test"
            _ = try await api.services.identity.createAdministrator(email: email, password: testPassword)
            #expect(try await admin.post("/login", ["email": email, "password": testPassword]).status == .seeOther)
            let row = try #require(
                try await admin.get("/admin").html.components(separatedBy: "<tr").first { $0.contains(request) })
            #expect(row.contains("waiting for 1 downstream system"))

            // Past the statutory deadline, the open task is overdue, in the queue and in /metrics' count.
            let tasks = api.services.store.requestTasks
            let late = Date().addingTimeInterval(40 * 24 * 3600)
            #expect(try await tasks.overdueTaskCount(at: Date()) == 0)
            #expect(try await tasks.overdueTaskCount(at: late) == 1)
            #expect(try await tasks.openTaskCounts(requestIDs: [requestID], at: late)[requestID]?.overdue == 1)
            let crm = try #require(try await Self.tasks(api, request)["CRM"]?["id"] as? String)
            _ = try await api.send(
                .post, "/v1/requests/\(request)/tasks/\(crm)/exception", json: #"{"reason":"switched off"}"#)
            #expect(try await tasks.overdueTaskCount(at: late) == 0)
        }
    }
}
