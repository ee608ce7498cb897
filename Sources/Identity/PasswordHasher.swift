import CArgon2
import Crypto
import Foundation

/// Argon2id cost parameters. The defaults are OWASP's minimum: 19 MiB, two passes, one lane.
public struct Argon2Parameters: Sendable, Equatable {
    public var memoryKiB: UInt32
    public var iterations: UInt32
    public var parallelism: UInt32

    public static let owaspMinimum = Argon2Parameters(memoryKiB: 19 * 1024, iterations: 2, parallelism: 1)

    public init(memoryKiB: UInt32, iterations: UInt32, parallelism: UInt32) {
        self.memoryKiB = memoryKiB
        self.iterations = iterations
        self.parallelism = parallelism
    }

    /// Whether a hash made with `self` is weaker than one made with `target` in any dimension.
    func isWeaker(than target: Argon2Parameters) -> Bool {
        memoryKiB < target.memoryKiB || iterations < target.iterations || parallelism < target.parallelism
    }

    /// Reads the parameters from a PHC string such as `$argon2id$v=19$m=19456,t=2,p=1$salt$hash`.
    init?(phc: String) {
        let fields = phc.split(separator: "$")
        guard fields.count == 5, fields[0] == "argon2id" else { return nil }
        var values: [Substring: UInt32] = [:]
        for pair in fields[2].split(separator: ",") {
            let kv = pair.split(separator: "=")
            guard kv.count == 2, let value = UInt32(kv[1]) else { return nil }
            values[kv[0]] = value
        }
        guard let m = values["m"], let t = values["t"], let p = values["p"] else { return nil }
        self.init(memoryKiB: m, iterations: t, parallelism: p)
    }
}

/// Argon2id through Debian's libargon2 (the reference implementation), stored as PHC strings.
/// Each hash takes tens of milliseconds and megabytes of memory, so hashes run on their own threads,
/// never on an event loop, and at most `maximumConcurrent` at once.
public struct PasswordHasher: Sendable {
    public enum Verification: Sendable, Equatable {
        case invalid
        /// Valid; `needsRehash` when the stored hash used weaker parameters than today's.
        case valid(needsRehash: Bool)
    }

    public let parameters: Argon2Parameters
    private let limiter: ConcurrencyLimiter
    /// A hash of a random password, verified for unknown accounts so that they cost the same time.
    private let dummyHash: String

    public init(parameters: Argon2Parameters = .owaspMinimum, maximumConcurrent: Int? = nil) throws {
        self.parameters = parameters
        self.limiter = ConcurrencyLimiter(limit: maximumConcurrent ?? ProcessInfo.processInfo.activeProcessorCount)
        self.dummyHash = try Self.hashNow(UUID().uuidString, parameters: parameters)
    }

    public func hash(_ password: String) async throws -> String {
        let parameters = self.parameters
        return try await limiter.run { try Self.hashNow(password, parameters: parameters) }
    }

    public func verify(_ password: String, against phc: String) async -> Verification {
        let target = parameters
        return await
            (try? limiter.run { () -> Verification in
                // Bytes with an explicit length: a NUL inside a password must not cut it short.
                let bytes = Array(password.utf8)
                let ok = argon2id_verify(phc, bytes, bytes.count) == ARGON2_OK.rawValue
                guard ok else { return .invalid }
                let stored = Argon2Parameters(phc: phc)
                return .valid(needsRehash: stored.map { $0.isWeaker(than: target) } ?? true)
            }) ?? .invalid
    }

    /// Spends the same work as a real verification and always fails.
    public func verifyDummy(_ password: String) async {
        _ = await verify(password, against: dummyHash)
    }

    static func hashNow(_ password: String, parameters: Argon2Parameters) throws -> String {
        let salt = SymmetricKey(size: .bits128).withUnsafeBytes { Array($0) }
        let hashLength = 32
        let encodedLength = argon2_encodedlen(
            parameters.iterations, parameters.memoryKiB, parameters.parallelism, UInt32(salt.count),
            UInt32(hashLength), Argon2_id)
        var encoded = [CChar](repeating: 0, count: encodedLength)
        let bytes = Array(password.utf8)
        let status = argon2id_hash_encoded(
            parameters.iterations, parameters.memoryKiB, parameters.parallelism, bytes, bytes.count, salt,
            salt.count, hashLength, &encoded, encodedLength)
        guard status == ARGON2_OK.rawValue else { throw PasswordHashingError(code: status) }
        return String(decoding: encoded.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// libargon2 refused the parameters or ran out of memory. Carries libargon2's own message only.
public struct PasswordHashingError: Error, CustomStringConvertible {
    let code: Int32
    public var description: String { "argon2id failed: " + String(cString: argon2_error_message(code)) }
}

extension PasswordHasher {
    /// One hash at OWASP's minimum parameters on the calling thread, for `qspp speed`.
    public static func hashNowForBenchmark(
        _ password: String, parameters: Argon2Parameters = .owaspMinimum
    ) throws
        -> String
    {
        try hashNow(password, parameters: parameters)
    }
}
