import Foundation
import PQCrypto

/// Signs checkpoints and verifies the chain against them.
public struct LedgerService: Sendable {
    public static let verificationBatch = 10_000

    private let repository: any LedgerRepository
    private let signer: any CheckpointSigner
    private let issuer: String

    public init(repository: any LedgerRepository, signer: any CheckpointSigner, issuer: String) {
        self.repository = repository
        self.signer = signer
        self.issuer = issuer
    }

    /// Signs the current head, unless the latest checkpoint already covers it. Returns the latest
    /// checkpoint, or nil while the ledger is empty.
    @discardableResult
    public func checkpoint(now: Date = Date()) async throws -> LedgerCheckpoint? {
        let head = try await repository.ledgerHead()
        let latest = try await repository.checkpoints().last
        guard head.size > 0, head.size > (latest?.size ?? 0) else { return latest }
        let statement = CheckpointStatement(issuer: issuer, head: head, at: now)
        let checkpoint = LedgerCheckpoint(
            size: head.size, headHash: head.hash, signedAt: Date(timeIntervalSince1970: TimeInterval(statement.iat)),
            signature: try await signer.sign(statement))
        try await repository.insertCheckpoint(checkpoint)
        return checkpoint
    }

    public func latestCheckpoint() async throws -> LedgerCheckpoint? {
        try await repository.checkpoints().last
    }

    /// Re-hashes every entry, checks every link, and checks the chain against every checkpoint whose
    /// signature is valid. Reports the first problem; a checkpoint with a bad signature is one.
    ///
    /// Entries appended while it runs are left for the next run: it checks the chain up to the head it
    /// read first (after the checkpoints, so every checkpoint it holds is within that head).
    public func verify() async throws -> LedgerReport {
        let stored = try await repository.checkpoints()
        let head = try await repository.ledgerHead()
        var vouched: [Int64: Data] = [:]
        var problem: LedgerProblem?
        let verifySignature = try await signer.makeVerifier()
        for checkpoint in stored {
            guard let statement = verifySignature(checkpoint.signature),
                statement.ledgerSize == checkpoint.size, statement.ledgerHead == Hex.encode(checkpoint.headHash)
            else {
                problem =
                    problem
                    ?? LedgerProblem(
                        sequence: checkpoint.size,
                        reason: "the checkpoint of size \(checkpoint.size) does not carry a valid signature")
                continue
            }
            vouched[checkpoint.size] = checkpoint.headHash
        }
        var verifier = LedgerVerifier(checkpoints: vouched)
        var after: Int64 = 0
        reading: while after < head.size {
            let limit = Int(min(Int64(Self.verificationBatch), head.size - after))
            let batch = try await repository.ledgerEntries(after: after, limit: limit)
            for entry in batch {
                guard verifier.check(entry) else { break reading }
            }
            guard let last = batch.last, batch.count == limit else { break }
            after = last.sequence
        }
        verifier.finish(storedHead: head)
        let found = [problem, verifier.problem].compactMap { $0 }.min { $0.sequence < $1.sequence }
        return LedgerReport(
            entries: verifier.head.size, head: verifier.head, checkpointCount: stored.count,
            latestCheckpoint: stored.last, problem: found)
    }
}
