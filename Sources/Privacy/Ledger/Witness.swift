import Foundation

/// Where a witness keeps the latest checkpoint it cosigned for each log. `advance` must compare and
/// store in one step: two submissions checked against one size must not both move it (C2SP
/// tlog-witness's rollback race).
public protocol WitnessState: Sendable {
    func latest(origin: String) async throws -> TreeCheckpoint?
    /// Stores `next` if the stored size for its origin is still `expected` (0 when none); says whether
    /// it did.
    func advance(from expected: Int64, to next: TreeCheckpoint) async throws -> Bool
}

/// A C2SP `tlog-witness`: it cosigns a log's checkpoint only if a key it trusts for that log signed
/// it and it is consistent with the last checkpoint it cosigned for that log. So a log that shows one
/// witness a tree it rewrote, or two trees of one size, is refused, and a log that shows different
/// witnesses different trees cannot reach a quorum for both.
public struct Witness: Sendable {
    public enum Outcome: Sendable, Equatable {
        /// The cosignature lines, for the client to append to its checkpoint.
        case cosigned(String)
        case malformed(String)
        case unknownLog
        case notSignedByTheLog
        /// The old size is not the size this witness last cosigned, or a checkpoint of that size had
        /// another root: the size it holds.
        case conflict(latestSize: Int64)
        case inconsistent
    }

    public static let maximumProofLines = 63
    public static let maximumRequestSize = 1024 * 1024

    let cosigner: NoteCosigner
    /// The key its cosignatures verify with.
    public var key: NoteVerifierKey { cosigner.verifierKey }
    let logs: [String: [NoteVerifierKey]]
    let state: any WitnessState
    let now: @Sendable () -> Date

    /// `logs`: the keys trusted for each log, by origin.
    public init(
        cosigner: NoteCosigner, logs: [String: [NoteVerifierKey]], state: any WitnessState,
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.cosigner = cosigner
        self.logs = logs
        self.state = state
        self.now = now
    }

    /// Handles one `add-checkpoint` request body.
    public func addCheckpoint(_ body: String) async throws -> Outcome {
        guard body.utf8.count <= Self.maximumRequestSize, let split = body.range(of: "\n\n") else {
            return .malformed("the body is an old size line, proof lines, a blank line and a checkpoint")
        }
        let header = body[..<split.lowerBound].split(separator: "\n", omittingEmptySubsequences: false)
        guard let first = header.first, first.hasPrefix("old "), let old = Int64(first.dropFirst(4)), old >= 0,
            String(old) == first.dropFirst(4)
        else { return .malformed("the first line must be 'old <size>'") }
        var proof: [Data] = []
        for line in header.dropFirst() {
            guard let hash = Data(base64Encoded: String(line)), hash.count == 32 else {
                return .malformed("each proof line must be one base64 SHA-256 hash")
            }
            proof.append(hash)
        }
        guard proof.count <= Self.maximumProofLines else { return .malformed("too many proof lines") }
        guard let note = SignedNote(parsing: String(body[split.upperBound...])),
            let checkpoint = TreeCheckpoint(text: note.text)
        else { return .malformed("the checkpoint is not a signed note stating a checkpoint") }
        guard let keys = logs[checkpoint.origin] else { return .unknownLog }
        guard keys.contains(where: { $0.hasSigned(note) }) else { return .notSignedByTheLog }
        guard old <= checkpoint.size else { return .malformed("the old size is larger than the checkpoint's") }

        let latest = try await state.latest(origin: checkpoint.origin)
        let latestSize = latest?.size ?? 0
        guard old == latestSize else { return .conflict(latestSize: latestSize) }
        if let latest, old > 0 {
            if old == checkpoint.size {
                guard latest.root == checkpoint.root, proof.isEmpty else { return .conflict(latestSize: latestSize) }
            } else {
                guard
                    MerkleTree.verifyConsistency(
                        old: old, new: checkpoint.size, oldRoot: latest.root, newRoot: checkpoint.root, proof: proof)
                else { return .inconsistent }
            }
        } else if !proof.isEmpty {
            return .malformed("the proof from size 0 is empty")
        }
        guard try await state.advance(from: old, to: checkpoint) else {
            return .conflict(latestSize: try await state.latest(origin: checkpoint.origin)?.size ?? 0)
        }
        return .cosigned(try cosigner.cosign(note.text, at: now()).line)
    }
}
