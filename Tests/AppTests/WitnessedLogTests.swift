import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import PQCrypto
import Privacy
import QSPPTestSupport
import Services
import Synchronization
import Testing

@testable import App

/// `qspp ledger witness` as a process of its own, with its own key and state files.
final class WitnessProcess: Sendable {
    let process = Process()
    let port: Int
    let outputPath = temporaryPath("qspp-witness", extension: "log")
    private let announced = Mutex<NoteVerifierKey?>(nil)
    /// The cosignature key it printed at start.
    var key: NoteVerifierKey? { announced.withLock { $0 } }

    init(port: Int, keyFile: String, state: String, logKeys: [String]) throws {
        self.port = port
        process.executableURL = URL(fileURLWithPath: ServerProcess.binary)
        process.arguments =
            [
                "ledger", "witness", "--name", "witness.test/w1", "--key-file", keyFile, "--state", state, "--port",
                "\(port)",
            ]
            + logKeys.flatMap { ["--log-key", $0] }
        process.environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("QSPP_") }
        _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
        process.standardOutput = output
        process.standardError = output
        try process.run()
    }

    /// Waits for the key line and for the port to answer.
    func waitUntilListening() async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline, process.isRunning {
            let output = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
            if let line = output.split(separator: "\n").first(where: { $0.hasPrefix("witness key: ") }),
                (try? await TestClient.withClient(host: "127.0.0.1", port: port) {
                    try await $0.execute(.init("/", method: .get))
                }) != nil
            {
                announced.withLock { $0 = NoteVerifierKey(text: String(line.dropFirst("witness key: ".count))) }
                return
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("the witness did not start: \((try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "")")
        throw CancellationError()
    }

    func stop() async {
        guard process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }

    deinit {
        if process.isRunning { process.terminate() }
    }
}

/// The log asks real witnesses to cosign each checkpoint; verification requires their quorum; a
/// witness that was away catches up from its saved state; and a witness refuses a second tree of a
/// size it cosigned, even one the log's own keys signed.
@Suite("Witnessed log", .serialized)
struct WitnessedLogTests {
    static let origin = "witness-test.example/ledger"

    @Test func aQuorumOfWitnessesCosignsAndVerificationNeedsIt() async throws {
        let log = try LogIdentity.derived(from: try MasterKey(base64Seed: testMasterKey), origin: Self.origin)
        let logKeys = log.signers.map(\.verifierKey.text)
        let keyFile = temporaryPath("qspp-witness-key", extension: "txt")
        let stateFile = temporaryPath("qspp-witness-state", extension: "json")
        let port = try freePort()
        let first = try WitnessProcess(port: port, keyFile: keyFile, state: stateFile, logKeys: logKeys)
        try await first.waitUntilListening()
        let firstKey = try #require(first.key)
        let mode = try FileManager.default.attributesOfItem(atPath: keyFile)[.posixPermissions] as? NSNumber
        #expect(mode?.intValue == 0o600)

        let second = Witness(
            cosigner: try #require(
                NoteCosigner(name: "witness.test/w2", seed: Curve25519.Signing.PrivateKey().rawRepresentation)),
            logs: [Self.origin: log.signers.map(\.verifierKey)],
            state: try FileWitnessState(path: temporaryPath("qspp-witness-state", extension: "json")))
        let secondApp = buildWitnessApplication(witness: second, host: "127.0.0.1", port: 0, logger: testLogger)
        try await secondApp.test(.live) { secondClient in
            let secondPort = try #require(secondClient.port)
            try await withApp(
                .sqlite,
                configure: {
                    $0.receipts.logOrigin = Self.origin
                    $0.receipts.witnesses = [
                        WitnessEndpoint(url: URL(string: "http://127.0.0.1:\(port)")!, key: firstKey),
                        WitnessEndpoint(url: URL(string: "http://127.0.0.1:\(secondPort)/")!, key: second.key),
                    ]
                    $0.receipts.witnessQuorum = 2
                }
            ) { api in
                let policy = WitnessPolicy(witnesses: [firstKey, second.key], quorum: 2)
                try await Self.decide(api)
                #expect(try await api.send(.post, "/v1/admin/ledger/checkpoints").status == .created)
                let note = try await Self.publishedNote(api)
                #expect(policy.isSatisfied(by: try #require(SignedNote(parsing: note))))
                #expect(NoteVerifierKey.vouch(for: try #require(SignedNote(parsing: note)), by: log.trusted))
                let file = temporaryPath("qspp-cosigned", extension: "txt")
                defer { try? FileManager.default.removeItem(atPath: file) }
                try note.write(toFile: file, atomically: true, encoding: .utf8)
                let independent = try python("cosignature.py", [file, firstKey.text])
                #expect(independent.status == 0 && independent.output.hasPrefix("VALID "), "\(independent)")
                #expect(try await Self.verify(api)["intact"] as? Bool == true)

                // One witness away: the next checkpoint has one cosignature of the two required.
                await first.stop()
                try await Self.decide(api)
                #expect(try await api.send(.post, "/v1/admin/ledger/checkpoints").status == .created)
                let lacking = try await Self.verify(api)
                #expect(lacking["intact"] as? Bool == false)
                #expect((lacking["problem"] as? String)?.contains("cosigned by 1 of the 2") == true, "\(lacking)")

                // Back with its saved state, it catches up by a consistency proof from the size it cosigned.
                let again = try WitnessProcess(port: port, keyFile: keyFile, state: stateFile, logKeys: logKeys)
                defer { again.process.terminate() }
                try await again.waitUntilListening()
                #expect(again.key == firstKey)
                #expect(try await api.services.ledger.cosign().count == 2)
                #expect(try await Self.verify(api)["intact"] as? Bool == true)

                // The log's operator holds the log's keys, and shows a witness a second tree of a size it
                // already cosigned: refused, with the size it holds.
                let latest = try #require(try await api.services.ledger.latestCheckpoint())
                let forgedText = TreeCheckpoint(
                    origin: Self.origin, size: latest.size, root: Data(repeating: 1, count: 32)
                )
                .text
                let forged = SignedNote(text: forgedText, signatures: try log.signers.map { try $0.sign(forgedText) })
                let refused = try await secondClient.execute(
                    uri: "/add-checkpoint", method: .post, headers: [.contentType: "text/plain"],
                    body: ByteBuffer(string: "old \(latest.size)\n\n" + forged.formatted))
                #expect(refused.status == .conflict)
                #expect(refused.headers[.contentType] == "text/x.tlog.size")
                #expect(String(buffer: refused.body) == "\(latest.size)\n")
            }
        }
        await first.stop()
    }

    static func decide(_ api: API) async throws {
        let response = try await api.send(
            .post, "/v1/subjects/\(uniqueSubjectText())/consents",
            json: #"{"purpose":"analytics","decision":"granted"}"#)
        #expect(response.status == .created)
    }

    static func publishedNote(_ api: API) async throws -> String {
        let response = try await api.send(.get, "/v1/ledger/checkpoint/note", token: nil)
        #expect(response.status == .ok)
        return String(buffer: response.body)
    }

    static func verify(_ api: API) async throws -> [String: Any] {
        try await api.send(.get, "/v1/admin/ledger/verify").object()
    }
}
