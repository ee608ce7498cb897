import Crypto
import Foundation
import PQCrypto
import Privacy
import Testing

/// A witness's state in memory, with the compare-and-set the protocol needs.
actor MemoryWitnessState: WitnessState {
    private var logs: [String: TreeCheckpoint] = [:]

    func latest(origin: String) -> TreeCheckpoint? { logs[origin] }

    func advance(from expected: Int64, to next: TreeCheckpoint) -> Bool {
        guard (logs[next.origin]?.size ?? 0) == expected else { return false }
        logs[next.origin] = next
        return true
    }
}

/// C2SP tlog-witness and tlog-cosignature: what a witness cosigns, what it refuses, and why a log that
/// shows two witnesses two trees cannot reach a quorum. Trees and proofs come from the RFC 6962
/// definitions in `MerkleTreeTests`, not from the log's code.
@Suite("Witnesses")
struct WitnessTests {
    static let origin = "log.example/ledger"

    struct Log {
        let signer: NoteSigner
        var key: NoteVerifierKey { signer.verifierKey }

        func note(_ leaves: [Data]) throws -> SignedNote {
            let text = TreeCheckpoint(
                origin: WitnessTests.origin, size: Int64(leaves.count), root: MerkleTreeTests.mth(leaves[...])
            ).text
            return SignedNote(text: text, signatures: [try signer.sign(text)])
        }

        /// An `add-checkpoint` body for the tree of `leaves`, proved consistent from its first `old`.
        func body(old: Int, _ leaves: [Data], proof: [Data]? = nil) throws -> String {
            let proof = proof ?? (old == 0 ? [] : MerkleTreeTests.subproof(old, leaves[...], true))
            return "old \(old)\n" + proof.map { $0.base64EncodedString() + "\n" }.joined() + "\n"
                + (try note(leaves)).formatted
        }
    }

    static func log() throws -> Log {
        Log(signer: try NoteSigner(name: origin, key: SigningKey.generate(.ed25519)))
    }

    static func witness(_ name: String, for log: Log) -> Witness {
        let cosigner = NoteCosigner(name: name, seed: Curve25519.Signing.PrivateKey().rawRepresentation)!
        return Witness(cosigner: cosigner, logs: [origin: [log.key]], state: MemoryWitnessState())
    }

    static func cosignature(_ outcome: Witness.Outcome) throws -> String {
        guard case .cosigned(let line) = outcome else {
            Issue.record("expected a cosignature, got \(outcome)")
            throw CancellationError()
        }
        return line
    }

    @Test func itCosignsOnlyConsistentCheckpointsOfLogsItKnows() async throws {
        let log = try Self.log()
        let witness = Self.witness("witness.example/w1", for: log)
        let leaves = MerkleTreeTests.leaves(13)

        // Refusals that do not depend on history.
        let stranger = Log(signer: try NoteSigner(name: Self.origin, key: SigningKey.generate(.ed25519)))
        #expect(try await witness.addCheckpoint(try stranger.body(old: 0, Array(leaves[..<5]))) == .notSignedByTheLog)
        let elsewhere = Log(signer: try NoteSigner(name: "other.example/log", key: SigningKey.generate(.ed25519)))
        let otherText = TreeCheckpoint(origin: "other.example/log", size: 1, root: Data(count: 32)).text
        let otherNote = SignedNote(text: otherText, signatures: [try elsewhere.signer.sign(otherText)])
        #expect(try await witness.addCheckpoint("old 0\n\n" + otherNote.formatted) == .unknownLog)
        let five = try log.note(Array(leaves[..<5])).formatted
        for malformed in [
            "", "old 0\n" + five, "old -1\n\n" + five, "old 01\n\n" + five, "old 6\n\n" + five,
            "old 0\nnot base64\n\n" + five, "old 0\n\n" + "garbage\n",
            "old 3\n" + String(repeating: Data(count: 32).base64EncodedString() + "\n", count: 64) + "\n" + five,
        ] {
            guard case .malformed = try await witness.addCheckpoint(malformed) else {
                Issue.record("accepted \(malformed.prefix(40).debugDescription)")
                continue
            }
        }

        // The first checkpoint it sees is cosigned, and the cosignature is a C2SP cosignature/v1.
        let first = try Self.cosignature(try await witness.addCheckpoint(try log.body(old: 0, Array(leaves[..<5]))))
        let cosigned = try #require(SignedNote(parsing: five + first))
        let witnessKey = witness.key
        #expect(witnessKey.algorithm == .ed25519Cosignature)
        #expect(WitnessPolicy(witnesses: [witnessKey], quorum: 1).isSatisfied(by: cosigned))
        #expect(NoteVerifierKey.vouch(for: cosigned, by: [log.key]), "the witness's line does not spoil the log's")

        // After that, only what follows from it.
        #expect(try await witness.addCheckpoint(try log.body(old: 0, Array(leaves[..<8]))) == .conflict(latestSize: 5))
        let wrongProof = [Data](repeating: Data(count: 32), count: 3)
        #expect(
            try await witness.addCheckpoint(try log.body(old: 5, Array(leaves[..<8]), proof: wrongProof))
                == .inconsistent)
        _ = try Self.cosignature(try await witness.addCheckpoint(try log.body(old: 5, Array(leaves[..<8]))))
        var forked = Array(leaves[..<8])
        forked[2] = Data("rewritten".utf8)
        #expect(try await witness.addCheckpoint(try log.body(old: 8, forked, proof: [])) == .conflict(latestSize: 8))
        // The same checkpoint again is cosigned again; a grown fork is inconsistent with what it saw.
        _ = try Self.cosignature(try await witness.addCheckpoint(try log.body(old: 8, Array(leaves[..<8]), proof: [])))
        var grownFork = leaves
        grownFork[2] = Data("rewritten".utf8)
        #expect(try await witness.addCheckpoint(try log.body(old: 8, grownFork)) == .inconsistent)
        _ = try Self.cosignature(try await witness.addCheckpoint(try log.body(old: 8, leaves)))
    }

    /// The log shows one witness a tree and the other a rewritten tree of the same size: each cosigns
    /// what it saw, so neither tree reaches a quorum of both; and once a witness has seen one tree, it
    /// refuses the other.
    @Test func aSplitViewCannotReachAQuorum() async throws {
        let log = try Self.log()
        let first = Self.witness("witness.example/w1", for: log)
        let second = Self.witness("witness.example/w2", for: log)
        let honest = MerkleTreeTests.leaves(6)
        var forged = honest
        forged[3] = Data("the withdrawal, deleted".utf8)
        let honestLine = try Self.cosignature(try await first.addCheckpoint(try log.body(old: 0, honest)))
        let forgedLine = try Self.cosignature(try await second.addCheckpoint(try log.body(old: 0, forged)))
        let honestNote = try #require(SignedNote(parsing: try log.note(honest).formatted + honestLine))
        let forgedNote = try #require(SignedNote(parsing: try log.note(forged).formatted + forgedLine))
        let keys = [
            first.key,
            second.key,
        ]
        let policy = WitnessPolicy(witnesses: keys, quorum: 2)
        #expect(!policy.isSatisfied(by: honestNote) && !policy.isSatisfied(by: forgedNote))
        // Both cosignatures on one note would need both witnesses to have seen one tree.
        let mixed = try #require(SignedNote(parsing: try log.note(honest).formatted + honestLine + forgedLine))
        #expect(policy.cosigners(of: mixed) == [keys[0]])

        #expect(try await first.addCheckpoint(try log.body(old: 6, forged, proof: [])) == .conflict(latestSize: 6))
        var grown = forged
        grown += MerkleTreeTests.leaves(9)[6...]
        #expect(try await first.addCheckpoint(try log.body(old: 6, grown)) == .inconsistent)
    }

    @Test func aCosignatureCoversItsTimeAndTheWholeCheckpoint() throws {
        let cosigner = try #require(
            NoteCosigner(name: "witness.example/w1", seed: Curve25519.Signing.PrivateKey().rawRepresentation))
        let text = TreeCheckpoint(origin: Self.origin, size: 3, root: Data(repeating: 9, count: 32)).text
        let signature = try cosigner.cosign(text, at: Date(timeIntervalSince1970: 1_700_000_000))
        #expect(signature.bytes.count == 72)
        #expect(signature.bytes.prefix(8) == Data([0, 0, 0, 0, 0x65, 0x53, 0xf1, 0x00]))
        let key = cosigner.verifierKey
        #expect(NoteVerifierKey(text: key.text) == key)
        #expect(key.text.split(separator: "+")[2].hasPrefix("B"), "type 0x04 in base64 starts with B")
        #expect(key.hasSigned(SignedNote(text: text, signatures: [signature])))
        var laterTime = signature
        laterTime.bytes.replaceSubrange(7..<8, with: [0x01])
        #expect(!key.hasSigned(SignedNote(text: text, signatures: [laterTime])))
        let otherTree = TreeCheckpoint(origin: Self.origin, size: 4, root: Data(repeating: 9, count: 32)).text
        #expect(!key.hasSigned(SignedNote(text: otherTree, signatures: [signature])))
    }
}
