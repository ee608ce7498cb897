import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import QSPPTestSupport
import Synchronization
import Testing

/// `QSPP_TRACING=otlp` on a real `qspp serve`, exporting to a collector this test runs: the spans
/// arrive by OTLP/HTTP, continue the caller's `traceparent`, and cover the handler, the database and
/// the cryptography, without the personal data the request carried.
@Suite("Tracing")
struct TracingTests {
    @Test func spansReachTheCollectorInTheCallersTraceWithoutPersonalData() async throws {
        let exports = Mutex<[Data]>([])
        let router = Router()
        router.post("/v1/traces") { request, _ -> HTTPResponse.Status in
            let body = try await request.body.collect(upTo: 32 << 20)
            exports.withLock { $0.append(Data(body.readableBytesView)) }
            return .ok
        }
        let collectorPort = try freePort()
        let collector = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: collectorPort)))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await collector.run() }
            let server = try ServerProcess(
                databaseURL: "sqlite:" + temporaryPath("qspp-tracing", extension: "sqlite"),
                environment: [
                    "QSPP_TRACING": "otlp",
                    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:\(collectorPort)/v1/traces",
                    "OTEL_BSP_SCHEDULE_DELAY": "100",
                ])
            try await server.waitUntilListening()
            let traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
            let userAgent = "TracingProbe/1.0 (secret-agent)"
            let response = try await server.request(
                .post, "/v1/subjects/tracing-subject/consents", json: #"{"purpose":"marketing","decision":"granted"}"#,
                headers: [
                    HTTPField.Name("traceparent")!: "00-\(traceID)-00f067aa0ba902b7-01", .userAgent: userAgent,
                ])
            #expect(response.status == .created)

            let wanted = [
                "POST /v1/subjects/{subjectId}/consents", "db.consent.append", "crypto.seal", "crypto.verify",
                "db.system.name", "http.response.status_code",
            ]
            let traceBytes = Data(
                stride(from: 0, to: 32, by: 2).map { offset in
                    let start = traceID.index(traceID.startIndex, offsetBy: offset)
                    return UInt8(traceID[start..<traceID.index(start, offsetBy: 2)], radix: 16)!
                })
            let deadline = ContinuousClock.now + .seconds(20)
            var all = Data()
            while ContinuousClock.now < deadline {
                all = exports.withLock { $0.reduce(Data(), +) }
                if all.range(of: traceBytes) != nil, wanted.allSatisfy({ all.range(of: Data($0.utf8)) != nil }) {
                    break
                }
                try await Task.sleep(for: .milliseconds(100))
            }
            // Protobuf carries strings and the 16 trace-id bytes as they are, so finding them finds the spans.
            #expect(all.range(of: traceBytes) != nil, "no span in the caller's trace")
            for name in wanted { #expect(all.range(of: Data(name.utf8)) != nil, "no '\(name)' in the export") }
            for secret in ["tracing-subject", userAgent, "127.0.0.1"] {
                #expect(all.range(of: Data(secret.utf8)) == nil, "'\(secret)' reached the collector")
            }
            server.signal(SIGTERM)
            #expect(await server.waitForExit() == 0)
            group.cancelAll()
        }
    }
}
