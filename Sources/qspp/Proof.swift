import App
import ArgumentParser
import Consent
import Foundation
import PQCrypto
import Privacy
import Services

struct Ledger: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Verify the tamper-evident ledger and sign checkpoints of it.",
        subcommands: [Verify.self, Checkpoint.self, VerifyCheckpoint.self, Keys.self, WitnessCommand.self])

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Re-hash the whole chain and tree, check them against every signed checkpoint, and report the first bad entry.",
            discussion: """
                Trusts only the log keys derived from the master key and those in QSPP_LEDGER_TRUSTED_KEYS, never \
                a key read from the database. Exits with status 1 when the ledger has been tampered with.
                """)
        @OptionGroup var options: ConfigurationOptions
        @Option(help: "A checkpoint note saved earlier (GET /v1/ledger/checkpoint/note): today's log must extend it.")
        var saved: String?

        func run() async throws {
            let note = try saved.map { path in
                guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                    throw ValidationError("cannot read \(path)")
                }
                return text
            }
            let started = ContinuousClock.now
            let (report, savedProblem) = try await options.withServices { services in
                let report = try await services.ledger.verify()
                guard let note else { return (report, String?.none) }
                return (report, try await services.ledger.problem(withSaved: note))
            }
            let seconds = (ContinuousClock.now - started) / .seconds(1)
            let rate = seconds > 0 ? Int(Double(report.entries) / seconds) : 0
            let covered = report.latestCheckpoint.map { " (the latest covers \($0.size))" } ?? ""
            print(
                "\(report.entries) entries, head \(Hex.encode(report.head.hash)), \(report.checkpointCount) checkpoints\(covered)"
            )
            print("tree root \(report.treeRoot.base64EncodedString())")
            print(String(format: "verified in %.2f s (%d entries/s)", seconds, rate))
            if let savedProblem {
                print("LEDGER TAMPERED: against the saved checkpoint, \(savedProblem)")
                throw ExitCode(1)
            } else if saved != nil {
                print("the log extends the saved checkpoint")
            }
            guard let problem = report.problem else {
                print("ledger intact")
                return
            }
            print("LEDGER TAMPERED: first bad entry \(problem.sequence): \(problem.reason)")
            throw ExitCode(1)
        }
    }

    struct Checkpoint: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Sign a checkpoint of the current head now and print it as a compact JWS.")
        @OptionGroup var options: ConfigurationOptions

        func run() async throws {
            guard let checkpoint = try await options.withServices({ try await $0.ledger.checkpoint() }) else {
                throw ValidationError("the ledger is empty: there is nothing to checkpoint yet")
            }
            print(checkpoint.signature)
        }
    }

    struct Keys: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Print the log's verifier keys (name+id+key), for witnesses, auditors and QSPP_LEDGER_TRUSTED_KEYS.")
        @OptionGroup var options: ConfigurationOptions

        func run() async throws {
            for key in try await options.withServices({ $0.ledger.log.signers.map(\.verifierKey.text) }) {
                print(key)
            }
        }
    }

    struct VerifyCheckpoint: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "verify-checkpoint",
            abstract: "Check a checkpoint JWS against a JWKS file, offline, and print what it vouches for.")
        @Argument(help: "A file holding the compact JWS (GET /v1/ledger/checkpoint, field jws).") var file: String
        @Option(help: "The JWK Set, saved from /.well-known/jwks.json.") var jwks: String

        func run() throws {
            print(try OfflineCheck.verify(file: file, jwks: jwks, type: ProofType.ledgerCheckpoint).text)
        }
    }
}

struct Receipt: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Consent receipts.", subcommands: [Verify.self])

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check a consent receipt against a JWKS file, offline, and print its content.",
            discussion: "Needs no server and no database. Exits with status 1 when the receipt does not verify.")
        @Argument(help: "The receipt, a compact JWS (GET /v1/consent-receipts/{eventId}).") var file: String
        @Option(help: "The JWK Set, saved from /.well-known/jwks.json.") var jwks: String
        @Option(help: "A checkpoint note of the log (GET /v1/ledger/checkpoint/note), to check inclusion.")
        var checkpoint: String?
        @Option(help: "The inclusion proof saved from the receipt's ledger_proof link (with &size= the checkpoint's).")
        var proof: String?
        @Option(
            name: .customLong("log-key"),
            help: "A verifier key of the log you trust (name+id+key, from GET /v1/ledger/keys); repeatable.")
        var logKeys: [String] = []

        func validate() throws {
            guard (checkpoint == nil) == (proof == nil), checkpoint == nil || !logKeys.isEmpty else {
                throw ValidationError("--checkpoint, --proof and at least one --log-key go together")
            }
        }

        func run() throws {
            let verified = try OfflineCheck.verify(file: file, jwks: jwks, type: ProofType.consentReceipt)
            print(verified.text)
            guard let checkpoint, let proof else { return }
            let keys = try logKeys.map { text in
                guard let key = NoteVerifierKey(text: text) else {
                    throw ValidationError("not a verifier key: \(text)")
                }
                return key
            }
            let receipt = try JSONDecoder().decode(ConsentReceipt.self, from: verified.payload)
            let inclusion = try OfflineCheck.inclusionProof(proof)
            if let problem = ReceiptLogCheck.problem(
                receipt: receipt, note: try OfflineCheck.read(checkpoint), keys: keys, size: inclusion.size,
                proof: inclusion.hashes)
            {
                print("NOT IN THE LOG: \(problem)")
                throw ExitCode(1)
            }
            print("in the log \(receipt.ledgerLog ?? "") as entry \(receipt.ledgerSequence) of \(inclusion.size)")
        }
    }
}

enum OfflineCheck {
    static func read(_ path: String) throws -> String {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ValidationError("cannot read \(path)")
        }
        return text
    }

    /// An inclusion proof as GET /v1/ledger/inclusion answers it.
    static func inclusionProof(_ path: String) throws -> (size: Int64, hashes: [Data]) {
        guard let object = try? JSONSerialization.jsonObject(with: Data(read(path).utf8)) as? [String: Any],
            let size = (object["size"] as? NSNumber)?.int64Value, let proof = object["proof"] as? [String]
        else { throw ValidationError("\(path) is not an inclusion proof (GET /v1/ledger/inclusion)") }
        let hashes = proof.compactMap { Data(base64Encoded: $0) }
        guard hashes.count == proof.count, hashes.allSatisfy({ $0.count == 32 }) else {
            throw ValidationError("\(path) holds a hash that is not base64 SHA-256")
        }
        return (size, hashes)
    }

    /// The verified payload, pretty-printed, after a line naming the key that signed it; and the payload.
    static func verify(file: String, jwks: String, type: String) throws -> (text: String, payload: Data) {
        let token = try read(file)
        guard let keys = FileManager.default.contents(atPath: jwks) else {
            throw ValidationError("cannot read \(jwks)")
        }
        do {
            let verified = try OfflineJWSVerifier(jwks: keys).verify(token, type: type)
            let object = try JSONSerialization.jsonObject(with: verified.payload)
            let pretty = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
            return (
                "valid signature by key \(verified.keyID)\n" + String(decoding: pretty, as: UTF8.self), verified.payload
            )
        } catch let failure as OfflineJWSVerifier.Failure {
            print("INVALID: \(failure)")
            throw ExitCode(1)
        }
    }
}
