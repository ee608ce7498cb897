import App
import Foundation
import HTTPTypes
import QSPPTestSupport
import Testing
import Valuation

@Suite("Valyze API")
struct ValuationAPITests {
    /// A price-book category of this test's own, so tests sharing a database never value each other's records.
    static func withValuationApp(
        _ backend: Backend, configure: @escaping (inout AppConfiguration) -> Void = { _ in },
        _ body: @Sendable (API, String) async throws -> Void
    ) async throws {
        let category = "test_\(UUID().uuidString.lowercased().prefix(8))"
        try await withApp(
            backend,
            configure: { configuration in
                configuration.valuation.priceBook.categories[category] = .init(
                    base: 0.5, low: 0.25, high: 1, special: false, expectedAttributes: ["x", "y", "kind"],
                    source: "test")
                configure(&configuration)
            }
        ) { api in try await body(api, category) }
    }

    static func recordJSON(
        _ category: String, x: Double, y: Double, kind: String, purpose: String = "analytics"
    ) -> String {
        #"{"category":"\#(category)","purpose":"\#(purpose)","attributes":{"x":\#(x),"y":\#(y),"kind":"\#(kind)"},"source":"test-sensor"}"#
    }

    static func taskJSON(_ category: String, k: Int = 3, method: String = "knn_shapley", extra: String = "") -> String {
        """
        {"name":"clusters","category":"\(category)","features":["x","y"],"label":"kind",
         "validation":[{"features":{"x":0,"y":0},"label":"a"},{"features":{"x":5,"y":5},"label":"b"},
                       {"features":{"x":0.4,"y":0.1},"label":"a"}],
         "method":{"name":"\(method)","k":\(k)\(extra)},"payoutPool":50}
        """
    }

    func runJob(_ api: API, task: String) async throws -> [String: Any] {
        let created = try await api.send(.post, "/v1/admin/valuation/tasks/\(task)/jobs")
        #expect(created.status == .accepted)
        let id = try #require(try created.object()["id"] as? String)
        #expect(created.headers[.location] == "/v1/admin/valuation/jobs/\(id)")
        _ = try await api.services.valuation.runNextJob(id: UUID(uuidString: id)!)
        // A server process of another test on the same database may have claimed it first.
        for _ in 0..<300 {
            let job = try await api.send(.get, "/v1/admin/valuation/jobs/\(id)")
            #expect(job.status == .ok)
            let object = try job.object()
            if let status = object["status"] as? String, !["queued", "running"].contains(status) { return object }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("job \(id) did not finish")
        return [:]
    }

    @Test(
        "withdrawing consent removes a person's records from the next run, and their valuation says so",
        arguments: Backend.all)
    func consentGatesValuation(backend: Backend) async throws {
        try await Self.withValuationApp(backend) { api, category in
            let alice = try await api.newUser(confirmed: true)
            let bob = try await api.newUser(confirmed: true)
            for user in [alice, bob] {
                let granted = try await api.send(
                    .post, "/v1/subjects/\(user.id)/consents", json: #"{"purpose":"analytics","decision":"granted"}"#,
                    token: user.accessToken)
                #expect(granted.status == .created)
            }
            for (x, kind) in [(0.1, "a"), (0.3, "a"), (5.2, "b")] {
                let stored = try await api.send(
                    .post, "/v1/me/data-records", json: Self.recordJSON(category, x: x, y: x, kind: kind),
                    token: alice.accessToken)
                #expect(stored.status == .created)
            }
            for (x, kind) in [(4.8, "b"), (0.2, "b"), (5.5, "b")] {
                try await api.send(
                    .post, "/v1/me/data-records", json: Self.recordJSON(category, x: x, y: x, kind: kind),
                    token: bob.accessToken)
            }
            let listed = try await api.send(.get, "/v1/me/data-records", token: alice.accessToken).object()
            #expect((listed["records"] as? [[String: Any]])?.count == 3)

            let task = try await api.send(.post, "/v1/admin/valuation/tasks", json: Self.taskJSON(category))
            #expect(task.status == .created)
            let taskID = try #require(try task.object()["id"] as? String)

            let first = try await runJob(api, task: taskID)
            #expect(first["status"] as? String == "completed")
            #expect(first["progressPercent"] as? Double == 100)
            let summary = try #require(first["summary"] as? [String: Any])
            #expect(summary["recordsCounted"] as? Int == 6)
            let shares = try #require(first["subjects"] as? [[String: Any]])
            let payouts = shares.compactMap { $0["payout"] as? Double }
            #expect(abs(payouts.reduce(0, +) - 50) < 1e-9)
            // Alice's records all carry the right label; one of Bob's does not: Alice is worth more.
            let aliceShare = try #require(shares.first { $0["subjectId"] as? String == alice.id })
            let bobShare = try #require(shares.first { $0["subjectId"] as? String == bob.id })
            #expect((aliceShare["value"] as! Double) > (bobShare["value"] as! Double))

            var mine = try await api.send(.get, "/v1/me/valuation", token: alice.accessToken).object()
            #expect(mine["recordsCounted"] as? Int == 3)
            #expect((mine["priceBookValue"] as? Double ?? 0) > 0)
            var contribution = try #require((mine["contributions"] as? [[String: Any]])?.first)
            #expect(contribution["recordsCounted"] as? Int == 3)
            #expect(abs((contribution["value"] as? Double ?? 0) - (aliceShare["value"] as! Double)) < 1e-12)
            let values = try #require(contribution["records"] as? [[String: Any]]).compactMap { $0["value"] as? Double }
            #expect(values.count == 3 && abs(values.reduce(0, +) - (aliceShare["value"] as! Double)) < 1e-12)
            #expect((mine["aggregation"] as? String)?.contains("sum") == true)

            // Withdrawal: the price-book value drops at once, the next run leaves the records out.
            try await api.send(
                .post, "/v1/subjects/\(alice.id)/consents", json: #"{"purpose":"analytics","decision":"withdrawn"}"#,
                token: alice.accessToken)
            mine = try await api.send(.get, "/v1/me/valuation", token: alice.accessToken).object()
            #expect(mine["priceBookValue"] as? Double == 0)
            #expect(mine["recordsExcluded"] as? [String: Int] == ["no_consent": 3])
            #expect(
                (mine["records"] as? [[String: Any]])?.allSatisfy { $0["excludedBecause"] as? String == "no_consent" }
                    == true)
            let second = try await runJob(api, task: taskID)
            #expect((second["summary"] as? [String: Any])?["recordsCounted"] as? Int == 3)
            mine = try await api.send(.get, "/v1/me/valuation", token: alice.accessToken).object()
            contribution = try #require((mine["contributions"] as? [[String: Any]])?.first)
            #expect(contribution["jobId"] as? String == second["id"] as? String)
            #expect(contribution["recordsCounted"] as? Int == 0)
            #expect(contribution["recordsExcluded"] as? [String: Int] == ["no_consent": 3])
            #expect(contribution["value"] as? Double == 0)
            let outcomes = try #require(contribution["records"] as? [[String: Any]])
            #expect(outcomes.count == 3 && outcomes.allSatisfy { $0["excludedBecause"] as? String == "no_consent" })

            // Granting again brings them back.
            try await api.send(
                .post, "/v1/subjects/\(alice.id)/consents", json: #"{"purpose":"analytics","decision":"granted"}"#,
                token: alice.accessToken)
            let third = try await runJob(api, task: taskID)
            #expect((third["summary"] as? [String: Any])?["recordsCounted"] as? Int == 6)

            // The export carries the records and their values.
            let export = try await api.send(.get, "/v1/me/export", token: alice.accessToken)
            let files = try ExportAPITests.unzip(Data(export.body.readableBytesView))
            #expect(String(decoding: files["data-records.csv"] ?? Data(), as: UTF8.self).contains("test-sensor"))
            #expect(
                String(decoding: files["valuations.jsonl"] ?? Data(), as: UTF8.self).split(separator: "\n").count == 3)
        }
    }

    @Test("people reach only their own records; tasks and jobs are for staff", arguments: Backend.all)
    func accessIsChecked(backend: Backend) async throws {
        try await Self.withValuationApp(backend) { api, category in
            let alice = try await api.newUser(confirmed: true)
            let mallory = try await api.newUser(confirmed: true)
            let stored = try await api.send(
                .post, "/v1/me/data-records", json: Self.recordJSON(category, x: 1, y: 1, kind: "a"),
                token: alice.accessToken
            ).object()
            let record = try #require(stored["id"] as? String)
            try await api.send(.delete, "/v1/me/data-records/\(record)", token: mallory.accessToken).expectProblem(
                .notFound)
            try await api.send(
                .post, "/v1/subjects/\(alice.id)/data-records", json: Self.recordJSON(category, x: 1, y: 1, kind: "a"),
                token: mallory.accessToken
            ).expectProblem(.forbidden)
            try await api.send(
                .post, "/v1/admin/valuation/tasks", json: Self.taskJSON(category), token: mallory.accessToken
            )
            .expectProblem(.forbidden)
            try await api.send(.get, "/v1/admin/valuation/jobs", token: mallory.accessToken).expectProblem(.forbidden)
            try await api.send(.get, "/v1/me/valuation", token: nil).expectProblem(.unauthorized)
            // An integration (admin) stores for Alice; Alice sees it; she deletes her own record.
            let onBehalf = try await api.send(
                .post, "/v1/subjects/\(alice.id)/data-records", json: Self.recordJSON(category, x: 2, y: 2, kind: "a"))
            #expect(onBehalf.status == .created)
            try await api.send(
                .post, "/v1/subjects/\(UUID())/data-records", json: Self.recordJSON(category, x: 2, y: 2, kind: "a")
            )
            .expectProblem(.notFound)
            let listed = try await api.send(.get, "/v1/me/data-records", token: alice.accessToken).object()
            #expect((listed["records"] as? [[String: Any]])?.count == 2)
            #expect(
                try await api.send(.delete, "/v1/me/data-records/\(record)", token: alice.accessToken).status
                    == .noContent)
        }
    }

    @Test("bad records, tasks and jobs get a clear 4xx and nothing is stored", arguments: Backend.all)
    func badInputIsRefused(backend: Backend) async throws {
        try await Self.withValuationApp(backend, configure: { $0.valuation.limits.maximumValidationPoints = 3 }) {
            api, category in
            let user = try await api.newUser(confirmed: true)
            /// Each refusal's own status: a body that does not decode, or names no purpose there is, is a 400;
            /// a record that decodes but breaks the record's rules is a 422.
            func record(
                _ json: String, _ status: HTTPResponse.Status, sourceLocation: SourceLocation = #_sourceLocation
            ) async throws -> String {
                try await api.send(.post, "/v1/me/data-records", json: json, token: user.accessToken)
                    .expectProblem(status, sourceLocation: sourceLocation)
            }
            #expect(
                try await record(Self.recordJSON("no_such_category", x: 1, y: 1, kind: "a"), .unprocessableContent)
                    .contains("category"))
            #expect(
                try await record(Self.recordJSON(category, x: 1, y: 1, kind: "a", purpose: "nope"), .badRequest)
                    .contains("purpose"))
            _ = try await record(
                #"{"category":"\#(category)","purpose":"analytics","attributes":{"x":[1]},"source":"s"}"#,
                .badRequest)
            #expect(
                try await record(
                    #"{"category":"\#(category)","purpose":"analytics","attributes":{},"source":"s"}"#,
                    .unprocessableContent
                ).contains("attributes"))
            _ = try await record(
                #"{"category":"\#(category)","purpose":"analytics","attributes":{"x":1}}"#, .badRequest)
            // No Double holds 1e999: JSONDecoder refuses the number, so the body does not decode.
            _ = try await record(
                #"{"category":"\#(category)","purpose":"analytics","attributes":{"x":1e999},"source":"s"}"#,
                .badRequest)
            let listed = try await api.send(.get, "/v1/me/data-records", token: user.accessToken).object()
            #expect((listed["records"] as? [[String: Any]])?.isEmpty == true)

            func task(_ json: String, _ status: HTTPResponse.Status = .unprocessableContent) async throws {
                try await api.send(.post, "/v1/admin/valuation/tasks", json: json).expectProblem(status)
            }
            try await task(Self.taskJSON(category, k: 0))
            try await task(Self.taskJSON(category, k: -2))
            try await task(Self.taskJSON(category, method: "magic"), .badRequest)
            try await task(Self.taskJSON(category, extra: #","errorTolerance":-1"#))
            let base = Self.taskJSON(category)
            try await task(base.replacingOccurrences(of: #""label":"a"}"#, with: #""label":""}"#))
            try await task(base.replacingOccurrences(of: #","label":"b"}"#, with: "}"), .badRequest)
            try await task(base.replacingOccurrences(of: #"{"x":5,"y":5}"#, with: #"{"x":"five","y":5}"#), .badRequest)
            try await task(base.replacingOccurrences(of: #"{"x":5,"y":5}"#, with: #"{"x":5}"#))
            try await task(base.replacingOccurrences(of: #"{"x":5,"y":5}"#, with: #"{"x":5,"y":5,"z":1}"#))
            try await task(base.replacingOccurrences(of: #""features":["x","y"]"#, with: #""features":[]"#))
            let four = base.replacingOccurrences(
                of: #"{"features":{"x":0,"y":0},"label":"a"},"#,
                with: #"{"features":{"x":0,"y":0},"label":"a"},{"features":{"x":1,"y":0},"label":"a"},"#)
            #expect(
                try await api.send(.post, "/v1/admin/valuation/tasks", json: four).expectProblem(.unprocessableContent)
                    .contains("at most 3"))

            // Jobs that cannot work are refused before they are queued.
            let created = try await api.send(.post, "/v1/admin/valuation/tasks", json: Self.taskJSON(category, k: 2))
                .object()
            let taskID = try #require(created["id"] as? String)
            try await api.send(.post, "/v1/admin/valuation/tasks/\(taskID)/jobs").expectProblem(.unprocessableContent)
            try await api.send(
                .post, "/v1/me/data-records", json: Self.recordJSON(category, x: 1, y: 1, kind: "a"),
                token: user.accessToken)
            #expect(
                try await api.send(.post, "/v1/admin/valuation/tasks/\(taskID)/jobs").expectProblem(
                    .unprocessableContent
                )
                .contains("k must be"))
            try await api.send(.post, "/v1/admin/valuation/tasks/\(UUID())/jobs").expectProblem(.notFound)
            try await api.send(.get, "/v1/admin/valuation/jobs/\(UUID())").expectProblem(.notFound)
            try await api.send(.get, "/v1/admin/valuation/jobs/not-an-id").expectProblem(.notFound)

            // A job whose records do not count fails with its reason; the server carries on.
            try await api.send(
                .post, "/v1/me/data-records", json: Self.recordJSON(category, x: 2, y: 2, kind: "a"),
                token: user.accessToken)
            let job = try await runJob(api, task: taskID)
            #expect(job["status"] as? String == "failed")
            #expect((job["error"] as? String)?.contains("no record") == true)
            try await api.send(.post, "/v1/admin/valuation/jobs/\(job["id"] as! String)/cancel").expectProblem(
                .conflict)
        }
    }

    @Test("a running job can be cancelled: it stops and ends cancelled", arguments: Backend.all)
    func cancellation(backend: Backend) async throws {
        try await Self.withValuationApp(backend) { api, category in
            let user = try await api.newUser(confirmed: true)
            // Granted, so the records count and the job computes instead of failing at once.
            let granted = try await api.send(
                .post, "/v1/subjects/\(user.id)/consents", json: #"{"purpose":"analytics","decision":"granted"}"#,
                token: user.accessToken)
            #expect(granted.status == .created)
            for index in 0..<40 {
                let stored = try await api.send(
                    .post, "/v1/me/data-records",
                    json: Self.recordJSON(
                        category, x: Double(index % 10), y: Double(index % 7), kind: index % 3 == 0 ? "a" : "b"),
                    token: user.accessToken)
                #expect(stored.status == .created)
            }
            // TMC-Shapley that never truncates, over 40 records and 3,000 validation points, asked for an
            // error no budget reaches: every permutation costs 120,000 neighbour updates and it would stop
            // only after 100,000 of them, tens of seconds at the very least. The job cannot finish before
            // it is cancelled, so the cancellation below cannot be refused with 409.
            let validation = (0..<3_000).map { index -> String in
                let label = index % 2 == 0 ? "a" : "b"
                return #"{"features":{"x":\#(index % 50),"y":\#(index % 35)},"label":"\#(label)"}"#
            }
            let task = try await api.send(
                .post, "/v1/admin/valuation/tasks",
                json: """
                    {"name":"endless","category":"\(category)","features":["x","y"],"label":"kind",
                     "validation":[\(validation.joined(separator: ","))],
                     "method":{"name":"tmc_shapley","k":3,"errorTolerance":1e-9,"truncationTolerance":0,
                               "maximumSamples":100000}}
                    """)
            #expect(task.status == .created)
            let taskID = try #require(try task.object()["id"] as? String)
            let created = try await api.send(.post, "/v1/admin/valuation/tasks/\(taskID)/jobs")
            #expect(created.status == .accepted)
            let jobID = try #require(try created.object()["id"] as? String)

            let id = try #require(UUID(uuidString: jobID))
            func job() async throws -> [String: Any] {
                let response = try await api.send(.get, "/v1/admin/valuation/jobs/\(jobID)")
                #expect(response.status == .ok)
                return try response.object()
            }

            // Run it here (or let a runner that claimed it first run it), and wait until it is running.
            let runner = Task { try await api.services.valuation.runNextJob(id: id) }
            do {
                var state = try await job()
                for _ in 0..<200 where state["status"] as? String == "queued" {
                    try await Task.sleep(for: .milliseconds(50))
                    state = try await job()
                }
                try #require(state["status"] as? String == "running", "\(state)")

                let response = try await api.send(.post, "/v1/admin/valuation/jobs/\(jobID)/cancel")
                #expect(response.status == .ok)
                let requested = try response.object()
                #expect(requested["status"] as? String == "running", "\(requested)")
                #expect(requested["cancelRequested"] as? Bool == true, "\(requested)")

                // The runner sees the request at its next progress report (every second) and stops.
                for _ in 0..<300 where ["queued", "running"].contains(state["status"] as? String ?? "") {
                    try await Task.sleep(for: .milliseconds(100))
                    state = try await job()
                }
                #expect(state["status"] as? String == "cancelled", "\(state)")
                #expect(state["error"] as? String == "cancelled", "\(state)")
                #expect(state["cancelRequested"] as? Bool == true)
                #expect(state["finishedAt"] is String)
                #expect(!(state["summary"] is [String: Any]) && !(state["subjects"] is [Any]), "\(state)")
            } catch {
                // Leave no endless job behind for the runners of other tests sharing the database.
                _ = try? await api.services.valuation.cancel(jobID: id)
                runner.cancel()
                throw error
            }
            // After a failed check above, stop the job all the same; once it is cancelled this changes nothing.
            _ = try? await api.services.valuation.cancel(jobID: id)
            _ = try await runner.value

            // Cancelled is final: it is never claimed again, and a second cancellation is refused.
            #expect(try await !api.services.valuation.runNextJob(id: id))
            try await api.send(.post, "/v1/admin/valuation/jobs/\(jobID)/cancel").expectProblem(.conflict)
            #expect(try await job()["status"] as? String == "cancelled")
            let listed = try await api.send(.get, "/v1/admin/valuation/jobs").object()
            #expect((listed["jobs"] as? [[String: Any]])?.contains { $0["id"] as? String == jobID } == true)
        }
    }

    @Test("the seed's /valyze/data keeps its shape and computes its numbers")
    func seedRoute() async throws {
        try await withApp(.sqlite) { api in
            func value(_ input: String) async throws -> [String: Any] {
                let response = try await api.send(.post, "/valyze/data", json: #"{"input_data":\#(input)}"#)
                #expect(response.status == .ok)
                return try response.object()
            }
            let plain = try await value(
                #"{"data_id":"d1","category":"demographics","value_points":10,"is_sensitive":false,"source":"web"}"#)
            #expect(
                Set(plain.keys) == [
                    "valuation_score", "confidence_score", "valuation_timestamp", "model_used", "model_version",
                    "message",
                ])
            #expect(abs((plain["valuation_score"] as! Double) - 0.007) < 1e-9)
            let sensitive = try await value(
                #"{"data_id":"d1","category":"demographics","value_points":10,"is_sensitive":true,"source":"web"}"#)
            #expect(abs((sensitive["valuation_score"] as! Double) - 0.021) < 1e-9)
            let health = try await value(
                #"{"data_id":"d2","category":"health","value_points":[1,2,3],"is_sensitive":false,"source":"app"}"#)
            #expect(abs((health["valuation_score"] as! Double) - 3 * 0.26 * 3) < 1e-9)
            let sparse = try await value(#"{"data_id":"d3","category":"mystery","value_points":1}"#)
            #expect((sparse["confidence_score"] as! Double) < (plain["confidence_score"] as! Double))
            #expect((sparse["message"] as? String)?.contains("other") == true)
            #expect(plain["confidence_score"] as? Double != health["confidence_score"] as? Double)

            for bad in [
                #"{}"#, #"{"input_data":{"category":"health","value_points":1}}"#,
                #"{"input_data":{"data_id":"x","category":"health","value_points":"many"}}"#,
                #"{"input_data":{"data_id":"x","category":"health","value_points":-1}}"#,
                #"{"input_data":{"data_id":"","category":"health","value_points":1}}"#,
            ] {
                let response = try await api.send(.post, "/valyze/data", json: bad)
                #expect(response.status.code >= 400 && response.status.code < 500, "\(bad)")
            }
            try await api.send(.post, "/valyze/data", json: #"{}"#, token: nil).expectProblem(.unauthorized)
        }
    }
}
