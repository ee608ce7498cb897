import ArgumentParser
import Crypto
import Dispatch
import Foundation
import Identity
import Synchronization

/// How fast this machine does the costly operations of authentication, on every core at once: the
/// reference rates the authentication benchmarks compare the server against, and a sizing aid.
struct Speed: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Measure raw ML-DSA-65 signatures and verifications, ES256 verifications and Argon2id hashes per second on all cores."
    )

    @Option(help: "Seconds per measurement.") var seconds = 5.0
    @Option(help: "Threads; defaults to the number of cores.") var threads = ProcessInfo.processInfo
        .activeProcessorCount

    func run() async throws {
        let key = try MLDSA65.PrivateKey()
        let message = Data(repeating: 0x51, count: 600)
        let signature = try key.signature(for: message)
        let publicKey = key.publicKey
        let verifies = measure { precondition(publicKey.isValidSignature(signature, for: message)) }
        // What every token QSPP issues costs: one ML-DSA-65 signature over a JWT's signing input.
        let signs = measure { precondition((try? key.signature(for: message)) != nil) }
        // What a passkey sign-in verifies: a DER ECDSA signature over authenticator data and a hash.
        let passkey = P256.Signing.PrivateKey()
        let signed = Data(repeating: 0x52, count: 69)
        let der = try passkey.signature(for: signed).derRepresentation
        let passkeyPublic = passkey.publicKey
        let es256 = measure {
            let parsed = try? P256.Signing.ECDSASignature(derRepresentation: der)
            precondition(parsed.map { passkeyPublic.isValidSignature($0, for: signed) } ?? false)
        }
        let hashes = measure { _ = try? PasswordHasher.hashNowForBenchmark("correct horse battery staple") }
        print(
            String(
                format:
                    "mldsa65_verify_per_second=%.0f mldsa65_sign_per_second=%.0f es256_verify_per_second=%.0f "
                    + "argon2id_hash_per_second=%.1f threads=%d",
                verifies, signs, es256, hashes, threads))
    }

    /// Runs `work` in a loop on `threads` threads for `seconds`, and returns completions per second.
    private func measure(_ work: @escaping @Sendable () -> Void) -> Double {
        let count = Atomic<Int>(0)
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(seconds * 1e9)
        DispatchQueue.concurrentPerform(iterations: threads) { _ in
            var local = 0
            while DispatchTime.now().uptimeNanoseconds < deadline {
                work()
                local += 1
            }
            count.add(local, ordering: .relaxed)
        }
        return Double(count.load(ordering: .relaxed)) / seconds
    }
}
