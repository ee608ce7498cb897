import App
import ArgumentParser
import Foundation
import PQCrypto
import Privacy
import Services

struct Ledger: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Verify the tamper-evident ledger and sign checkpoints of it.",
        subcommands: [Verify.self, Checkpoint.self, VerifyCheckpoint.self])

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Re-hash the whole chain, check it against every signed checkpoint, and report the first bad entry.",
            discussion: "Exits with status 1 when the ledger has been tampered with.")
        @OptionGroup var options: ConfigurationOptions

        func run() async throws {
            let started = ContinuousClock.now
            let report = try await options.withServices { try await $0.ledger.verify() }
            let seconds = (ContinuousClock.now - started) / .seconds(1)
            let rate = seconds > 0 ? Int(Double(report.entries) / seconds) : 0
            let covered = report.latestCheckpoint.map { " (the latest covers \($0.size))" } ?? ""
            print(
                "\(report.entries) entries, head \(Hex.encode(report.head.hash)), \(report.checkpointCount) checkpoints\(covered)"
            )
            print(String(format: "verified in %.2f s (%d entries/s)", seconds, rate))
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

    struct VerifyCheckpoint: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "verify-checkpoint",
            abstract: "Check a checkpoint JWS against a JWKS file, offline, and print what it vouches for.")
        @Argument(help: "A file holding the compact JWS (GET /v1/ledger/checkpoint, field jws).") var file: String
        @Option(help: "The JWK Set, saved from /.well-known/jwks.json.") var jwks: String

        func run() throws {
            print(try OfflineCheck.verify(file: file, jwks: jwks, type: ProofType.ledgerCheckpoint))
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

        func run() throws {
            print(try OfflineCheck.verify(file: file, jwks: jwks, type: ProofType.consentReceipt))
        }
    }
}

enum OfflineCheck {
    /// The verified payload, pretty-printed, after a line naming the key that signed it.
    static func verify(file: String, jwks: String, type: String) throws -> String {
        guard let token = try? String(contentsOfFile: file, encoding: .utf8) else {
            throw ValidationError("cannot read \(file)")
        }
        guard let keys = FileManager.default.contents(atPath: jwks) else {
            throw ValidationError("cannot read \(jwks)")
        }
        do {
            let verified = try OfflineJWSVerifier(jwks: keys).verify(token, type: type)
            let object = try JSONSerialization.jsonObject(with: verified.payload)
            let pretty = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
            return "valid signature by key \(verified.keyID)\n" + String(decoding: pretty, as: UTF8.self)
        } catch let failure as OfflineJWSVerifier.Failure {
            print("INVALID: \(failure)")
            throw ExitCode(1)
        }
    }
}
