import ArgumentParser
import Foundation
import Kernel
import PQCrypto

/// The subject's side of an encrypted export: make a key pair, then open what the server sent.
struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Receive an encrypted data export (POST /v1/me/export).", subcommands: [Keygen.self, Decrypt.self])

    struct Keygen: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make a key pair: writes the private seed to a file (0600) and prints the public key (base64url)."
        )
        @Option(help: "X-Wing or ML-KEM-768.") var kem = "X-Wing"
        @Option(help: "Where to write the private seed.") var privateKey: String

        func run() throws {
            guard let recipient = ExportEnvelope.Recipient(rawValue: kem) else {
                throw ValidationError("--kem must be X-Wing or ML-KEM-768")
            }
            let (seed, publicKey) = try ExportEnvelope.generateKeyPair(recipient)
            do {
                try SecretFile.create(atPath: privateKey, contents: Data(seed.base64EncodedString().utf8))
            } catch {
                throw ValidationError("private key \(error)")
            }
            print(Base64URL.encode(publicKey))
        }
    }

    struct Decrypt: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Decrypt an export envelope into a ZIP file.")
        @Argument(help: "The .zip.qspp file the server sent.") var file: String
        @Option(help: "The private seed file `qspp export keygen` wrote.") var privateKey: String
        @Option(name: .shortAndLong, help: "Where to write the ZIP.") var output: String

        func run() throws {
            guard let text = try? String(contentsOfFile: privateKey, encoding: .utf8),
                let seed = Data(base64Encoded: text.trimmingCharacters(in: .whitespacesAndNewlines))
            else { throw ValidationError("cannot read a private seed from \(privateKey)") }
            do {
                try ExportEnvelope.decrypt(
                    URL(fileURLWithPath: file), to: URL(fileURLWithPath: output), privateSeed: seed)
            } catch let failure as ExportEnvelope.Failure {
                try? FileManager.default.removeItem(atPath: output)
                print("INVALID: \(failure)")
                throw ExitCode(1)
            }
            print("wrote \(output)")
        }
    }
}
