import Foundation
import HTTPTypes
import HummingbirdTesting
import QSPPTestSupport
import Synchronization
import Testing

/// What only a real process shows: nothing acknowledged is lost to a crash, SIGTERM drains
/// in-flight work, and a database outage is answered with 503 until the database returns.
@Suite("Server process", .serialized)
struct ServerProcessTests {
    /// A database of the test's own: a server's background jobs (valuation, retention) must not
    /// act on what in-process tests share.
    func databaseURL(_ backend: Backend) async throws -> String {
        switch backend {
        case .sqlite: "sqlite:" + temporaryPath("qspp-process", extension: "sqlite")
        case .postgres: try await isolatedPostgresURL()
        }
    }

    /// Writers post decisions until the server dies; returns the ids of every acknowledged event per subject.
    func writeUntilFailure(_ server: ServerProcess, writers: Int, subjects: [String]) async -> [String: [String]] {
        await withTaskGroup(of: (String, [String]).self) { group in
            for writer in 0..<writers {
                let subject = subjects[writer % subjects.count]
                group.addTask {
                    let acknowledged = Mutex<[String]>([])
                    try? await TestClient.withClient(host: "127.0.0.1", port: server.port) { client in
                        while true {
                            let response = try await client.send(
                                .post, "/v1/subjects/\(subject)/consents",
                                json: #"{"purpose":"analytics","decision":"granted"}"#, token: server.adminAccessToken)
                            guard response.status == .created, let body = response.body else { return }
                            let object =
                                try JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any]
                            if let id = (object?["events"] as? [[String: Any]])?.first?["id"] as? String {
                                acknowledged.withLock { $0.append(id) }
                            }
                        }
                    }
                    return (subject, acknowledged.withLock { $0 })
                }
            }
            return await group.reduce(into: [:]) { $0[$1.0, default: []] += $1.1 }
        }
    }

    func storedIDs(_ server: ServerProcess, subject: String) async throws -> Set<String> {
        var ids: Set<String> = []
        // Staff say why they read someone's history.
        let why = "reason=checking+that+acknowledged+writes+survived"
        var uri = "/v1/subjects/\(subject)/consents/history?limit=500&\(why)"
        while true {
            let response = try await server.request(.get, uri)
            #expect(response.status == .ok)
            let object = try #require(
                try JSONSerialization.jsonObject(with: Data(response.body!.readableBytesView)) as? [String: Any])
            for event in object["events"] as? [[String: Any]] ?? [] { ids.insert(event["id"] as! String) }
            guard let cursor = object["nextCursor"] as? String else { return ids }
            uri = "/v1/subjects/\(subject)/consents/history?limit=500&cursor=\(cursor)&\(why)"
        }
    }

    @Test(arguments: Backend.all)
    func everyAcknowledgedWriteSurvivesSIGKILL(backend: Backend) async throws {
        let url = try await databaseURL(backend)
        let subjects = (0..<4).map { _ in uniqueSubjectText("crash") }
        let server = try ServerProcess(databaseURL: url)
        try await server.waitUntilListening()
        async let acknowledged = writeUntilFailure(server, writers: 16, subjects: subjects)
        try await Task.sleep(for: .seconds(2))
        server.signal(SIGKILL)
        let acked = await acknowledged
        #expect(await server.waitForExit() == SIGKILL)
        let total = acked.values.map(\.count).reduce(0, +)
        #expect(total > 20, "too few writes were acknowledged to prove anything")

        let restarted = try ServerProcess(databaseURL: url)
        try await restarted.waitUntilListening()
        for (subject, ids) in acked {
            let stored = try await storedIDs(restarted, subject: subject)
            let lost = Set(ids).subtracting(stored)
            #expect(lost.isEmpty, "\(lost.count) of \(ids.count) acknowledged events were lost")
        }
        restarted.signal(SIGTERM)
        #expect(await restarted.waitForExit() == 0)
    }

    @Test func sigtermLetsInFlightRequestsFinishAndExitsCleanly() async throws {
        let server = try await ServerProcess(databaseURL: databaseURL(.sqlite))
        try await server.waitUntilListening()
        let subjects = (0..<4).map { _ in uniqueSubjectText("drain") }
        async let acknowledged = writeUntilFailure(server, writers: 8, subjects: subjects)
        try await Task.sleep(for: .seconds(1))
        server.signal(SIGTERM)
        let acked = await acknowledged
        #expect(await server.waitForExit() == 0)
        #expect(acked.values.map(\.count).reduce(0, +) > 0)
    }

    @Test(.enabled(if: ProcessInfo.processInfo.environment["QSPP_TEST_OUTAGE_POSTGRES_URL"] != nil))
    func aDatabaseOutageIsAnswered503AndTheServerRecoversByItself() async throws {
        let environment = ProcessInfo.processInfo.environment
        let server = try ServerProcess(databaseURL: environment["QSPP_TEST_OUTAGE_POSTGRES_URL"]!)
        try await server.waitUntilListening()
        let subject = uniqueSubjectText("outage")
        let write = #"{"purpose":"cookies","decision":"granted"}"#
        #expect(try await server.request(.post, "/v1/subjects/\(subject)/consents", json: write).status == .created)

        try await shell(environment["QSPP_TEST_OUTAGE_STOP"]!)
        let duringOutage = try await server.request(.post, "/v1/subjects/\(subject)/consents", json: write)
        #expect(duringOutage.status == .serviceUnavailable)
        #expect(duringOutage.headers[.contentType] == "application/problem+json")
        #expect(duringOutage.headers[.retryAfter] != nil)
        #expect(try await server.request(.get, "/ready").status == .serviceUnavailable)
        #expect(try await server.request(.get, "/health").status == .ok)

        try await shell(environment["QSPP_TEST_OUTAGE_START"]!)
        var recovered = false
        for _ in 0..<60 where !recovered {
            let response = try await server.request(.post, "/v1/subjects/\(subject)/consents", json: write)
            recovered = response.status == .created
            if !recovered { try await Task.sleep(for: .milliseconds(500)) }
        }
        #expect(recovered, "writes did not succeed again after the database came back")
        #expect(try await server.request(.get, "/ready").status == .ok)
        #expect(server.process.isRunning)
        server.signal(SIGTERM)
        #expect(await server.waitForExit() == 0)
    }
}
