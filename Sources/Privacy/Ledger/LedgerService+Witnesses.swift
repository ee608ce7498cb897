import Foundation
import Synchronization

/// A witness as the log reaches it: its key, and a way to send it a C2SP `add-checkpoint` body.
public protocol CheckpointWitness: Sendable {
    var key: NoteVerifierKey { get }
    func submit(_ body: String) async throws -> WitnessReply
}

public enum WitnessReply: Sendable, Equatable {
    /// Signature lines, from a 200.
    case cosignatures(String)
    /// The size of the latest checkpoint the witness cosigned, from a 409.
    case conflict(latestSize: Int64)
    /// Any other answer, which gets no cosignature.
    case refused(String)
}

/// The sizes each witness last cosigned, as this process last heard; a witness corrects it with a 409.
final class WitnessSizes: Sendable {
    private let sizes = Mutex<[String: Int64]>([:])
    subscript(_ key: NoteVerifierKey) -> Int64 {
        get { sizes.withLock { $0[key.text] ?? 0 } }
        set { sizes.withLock { $0[key.text] = newValue } }
    }
}

extension LedgerService {
    /// Asks every witness that has not yet cosigned the latest checkpoint to do so, with a consistency
    /// proof from the last checkpoint it cosigned, and stores each cosignature that verifies. Returns
    /// the witnesses that cosigned it, now or before; a witness that fails is left for the next call.
    @discardableResult
    public func cosign() async throws -> [NoteVerifierKey] {
        guard !witnesses.isEmpty, let latest = try await repository.recentCheckpoints(limit: 1).first,
            let noteText = latest.note, let note = SignedNote(parsing: noteText)
        else { return [] }
        var cosigned = policy.cosigners(of: try await cosignedNote(note, size: latest.size))
        for witness in witnesses where !cosigned.contains(witness.key) {
            if let line = try? await requestCosignature(of: note, size: latest.size, from: witness) {
                try await repository.insertCosignature(size: latest.size, witness: witness.key.text, line: line)
                cosigned.append(witness.key)
            }
        }
        return cosigned
    }

    /// The note with the cosignatures stored for its checkpoint appended.
    func cosignedNote(_ note: SignedNote, size: Int64) async throws -> SignedNote {
        let lines = try await repository.cosignatures(size: size).joined()
        return SignedNote(parsing: note.formatted + lines) ?? note
    }

    /// The latest checkpoint's note with its witnesses' cosignatures: what an auditor fetches.
    public func publishedNote(of checkpoint: LedgerCheckpoint) async throws -> String? {
        guard let text = checkpoint.note, let note = SignedNote(parsing: text) else { return checkpoint.note }
        return try await cosignedNote(note, size: checkpoint.size).formatted
    }

    private func requestCosignature(
        of note: SignedNote, size: Int64, from witness: any CheckpointWitness
    )
        async throws -> String?
    {
        var old = witnessSizes[witness.key]
        // A 409 tells the witness's size; one retry with it is enough.
        for _ in 0..<2 {
            guard old <= size, let proof = old == 0 ? [] : try await consistencyProof(from: old, to: size) else {
                return nil
            }
            let body = "old \(old)\n" + proof.map { $0.base64EncodedString() + "\n" }.joined() + "\n" + note.formatted
            switch try await witness.submit(body) {
            case .cosignatures(let lines):
                witnessSizes[witness.key] = size
                return Self.validLine(lines, by: witness.key, over: note.text)
            case .conflict(let latestSize):
                old = latestSize
                witnessSizes[witness.key] = latestSize
            case .refused:
                return nil
            }
        }
        return nil
    }

    /// The first of `lines` that is a valid cosignature by `key` over `text`.
    static func validLine(_ lines: String, by key: NoteVerifierKey, over text: String) -> String? {
        lines.split(separator: "\n").lazy.map { String($0) + "\n" }.first { line in
            SignedNote(parsing: text + "\n" + line).map(key.hasSigned) ?? false
        }
    }
}
