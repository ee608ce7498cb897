import App
import ArgumentParser
import Crypto
import Foundation
import Kernel
import Logging
import Privacy
import ServiceLifecycle
import Services

extension Ledger {
    /// A witness for QSPP's log, or any C2SP log: another process, ideally on another host and run by
    /// someone else, with its own key. It needs no database and no master key.
    struct WitnessCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "witness",
            abstract: "Run a C2SP tlog-witness that cosigns the log's checkpoints and refuses split views.",
            discussion: """
                Listens for POST /add-checkpoint. Cosigns a checkpoint only if a --log-key signed it and it is \
                consistent with the last checkpoint this witness cosigned for that log, which it keeps in \
                --state. Prints its cosignature key (name+id+key) at start: give it to the log in \
                QSPP_LEDGER_WITNESSES and to verifiers.
                """)

        @Option(help: "The witness's name, a schema-less URL such as witness.example/w1.") var name: String
        @Option(help: "The witness's Ed25519 key seed file; made, private to its owner, if missing.")
        var keyFile: String
        @Option(help: "Where the witness keeps the latest checkpoint it cosigned for each log.") var state: String
        @Option(help: "A log's verifier key (name+id+key, from `qspp ledger keys`); repeat for more logs or keys.")
        var logKey: [String]
        @Option(help: "The address to listen on.") var host = "127.0.0.1"
        @Option(help: "The port to listen on.") var port = 9464

        func run() async throws {
            guard SignedNote.isValidKeyName(name) else { throw ValidationError("--name: no spaces and no '+'") }
            var logs: [String: [NoteVerifierKey]] = [:]
            for text in logKey {
                guard let key = NoteVerifierKey(text: text), key.algorithm != .ed25519Cosignature else {
                    throw ValidationError("--log-key: not a log's verifier key: \(text.prefix(80))")
                }
                logs[key.name, default: []].append(key)
            }
            guard !logs.isEmpty else { throw ValidationError("--log-key: name at least one log") }
            guard let cosigner = NoteCosigner(name: name, seed: try Self.seed(at: keyFile)) else {
                throw ValidationError("--key-file: not an Ed25519 seed")
            }
            var logger = Logger(label: "qspp-witness")
            logger.logLevel = .info
            // Written at once, not buffered: whoever started the witness reads its key from this line.
            FileHandle.standardOutput.write(Data("witness key: \(cosigner.verifierKey.text)\n".utf8))
            let witness = Witness(cosigner: cosigner, logs: logs, state: try FileWitnessState(path: state))
            let app = buildWitnessApplication(witness: witness, host: host, port: port, logger: logger)
            try await ServiceGroup(
                configuration: .init(services: [app], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
            ).run()
        }

        /// The seed in `path`, base64; a new one is written there first if there is none.
        static func seed(at path: String) throws -> Data {
            if !FileManager.default.fileExists(atPath: path) {
                let seed = Curve25519.Signing.PrivateKey().rawRepresentation
                try SecretFile.create(atPath: path, contents: Data(seed.base64EncodedString().utf8))
            }
            guard SecretFile.isSharedWithOthers(path) == false else {
                throw ValidationError("--key-file: its group or others can read it; chmod 600 it")
            }
            guard let text = try? String(contentsOfFile: path, encoding: .utf8),
                let seed = Data(base64Encoded: text.trimmingCharacters(in: .whitespacesAndNewlines)), seed.count == 32
            else { throw ValidationError("--key-file: not a base64 Ed25519 seed") }
            return seed
        }
    }
}
