public import Consent
public import Foundation
public import Identity
import PQCrypto
public import Privacy
import Storage

/// The JWS types QSPP signs besides tokens; a verifier must check `typ`, so one kind of statement can
/// never pass for another.
public enum ProofType {
    public static let consentReceipt = "consent-receipt+jwt"
    public static let ledgerCheckpoint = "ledger-checkpoint+jwt"
}

/// Checkpoints are signed with the token keys, so the public JWKS verifies them. They are checked the
/// way anyone would check them, against the public keys alone (every stored key, whatever this
/// process's ring has loaded so far).
struct RingCheckpointSigner: CheckpointSigner {
    let ring: SigningKeyRing
    let repository: any IdentityRepository

    func sign(_ statement: CheckpointStatement) async throws -> String {
        try await ring.signDocument(statement, type: ProofType.ledgerCheckpoint)
    }

    func makeVerifier() async throws -> @Sendable (String) -> CheckpointStatement? {
        let keys = try await repository.signingKeys().compactMap { stored -> [String: String]? in
            guard let algorithm = SigningAlgorithm(rawValue: stored.algorithm) else { return nil }
            return algorithm.publicJWK(stored.publicKey).merging(["kid": stored.keyID]) { current, _ in current }
        }
        let verifier = try OfflineJWSVerifier(jwks: JSONSerialization.data(withJSONObject: ["keys": keys]))
        return { signature in
            guard let verified = try? verifier.verify(signature, type: ProofType.ledgerCheckpoint) else { return nil }
            return try? JSONDecoder().decode(CheckpointStatement.self, from: verified.payload)
        }
    }
}

/// Signs consent receipts on request. Signing at every write would cost an ML-DSA-65 signature per
/// decision, several times the rest of the write path; the receipt's content is fixed at write time
/// (the event and its ledger sequence), so signing it later proves the same.
public struct ReceiptIssuer: Sendable {
    let ring: SigningKeyRing
    let consents: ConsentService
    let ledger: LedgerService
    let issuer: String
    let controller: ConsentReceipt.Controller
    let jurisdiction: String

    /// A decision's receipt, signed as a compact JWS.
    public struct Signed: Sendable {
        public let receipt: ConsentReceipt
        public let jws: String
    }

    func receipt(for event: ConsentEvent) -> ConsentReceipt? {
        ConsentReceipt(event: event, issuer: issuer, controller: controller, jurisdiction: jurisdiction)
    }

    func sign(_ receipt: ConsentReceipt) async throws -> String {
        try await ring.signDocument(receipt, type: ProofType.consentReceipt)
    }

    /// The signed receipt of one recorded decision, or nil when there is no such decision. `authorize`
    /// sees the decision's subject before anything is signed, and throws to refuse.
    public func signedReceipt(
        of eventID: UUID, authorize: (SubjectID) async throws -> Void
    ) async throws -> Signed? {
        guard let event = try await consents.event(eventID) else { return nil }
        try await authorize(event.subjectID)
        guard var receipt = receipt(for: event) else { return nil }
        // Issued from the ledger entry: a decision whose stored row no longer matches what the ledger
        // recorded (flipped, say, by someone who can write the database) gets no receipt.
        guard let entry = try await ledger.entry(receipt.ledgerSequence),
            entry.reference == "consent:" + event.id.lowercasedString,
            let recorded = try? JSONDecoder().decode([String: String].self, from: entry.content),
            LedgerRecord.consentFields(event).allSatisfy({ recorded[$0.key] == $0.value }),
            recorded["client_timestamp"] == nil || event.clientTimestamp != nil
        else {
            throw LedgerIntegrityError(
                problem: LedgerProblem(
                    sequence: receipt.ledgerSequence, reason: "the recorded decision differs from its ledger entry"))
        }
        receipt.ledgerLeaf = entry.leaf.base64EncodedString()
        receipt.ledgerLog = ledger.log.origin
        receipt.ledgerProof = "/v1/ledger/inclusion?seq=\(entry.sequence)"
        return Signed(receipt: receipt, jws: try await sign(receipt))
    }
}

/// What `qspp receipt verify` checks offline, beyond the signature: that the receipt's decision is in
/// a published checkpoint of the log, signed by a key the person trusts.
public enum ReceiptLogCheck {
    /// Why the receipt is not shown to be in the log, or nil when it is. `proof` is the inclusion proof
    /// of the receipt's entry in the tree of `size` entries that `note` states.
    public static func problem(
        receipt: ConsentReceipt, note: String, keys: [NoteVerifierKey], size: Int64, proof: [Data]
    ) -> String? {
        guard let encoded = receipt.ledgerLeaf, let leaf = Data(base64Encoded: encoded) else {
            return "the receipt names no ledger entry (it was issued before the log had a tree)"
        }
        guard let parsed = SignedNote(parsing: note), let checkpoint = TreeCheckpoint(text: parsed.text) else {
            return "the checkpoint is not a C2SP signed checkpoint"
        }
        guard receipt.ledgerLog == nil || receipt.ledgerLog == checkpoint.origin else {
            return "the checkpoint is of \(checkpoint.origin), the receipt's log is \(receipt.ledgerLog ?? "")"
        }
        guard NoteVerifierKey.vouch(for: parsed, by: keys) else {
            return "the checkpoint is not signed by a trusted key"
        }
        guard size == checkpoint.size else {
            return "the proof is for a tree of \(size) entries, the checkpoint's has \(checkpoint.size)"
        }
        guard describes(leaf, receipt) else { return "the receipt's ledger entry does not describe its decision" }
        guard
            MerkleTree.verifyInclusion(
                index: receipt.ledgerSequence - 1, size: size, leaf: MerkleTree.leafHash(leaf), proof: proof,
                root: checkpoint.root)
        else { return "the entry is not in the tree the checkpoint states" }
        return nil
    }

    /// Whether `leaf` is the consent entry of this receipt's decision: its reference names the event,
    /// and its content holds the same subject, purpose, decision, notice version and method.
    static func describes(_ leaf: Data, _ receipt: ConsentReceipt) -> Bool {
        guard let newline = leaf.firstIndex(of: 0x0A),
            String(decoding: leaf[..<newline], as: UTF8.self) == "consent:" + receipt.jti,
            let content = try? JSONSerialization.jsonObject(with: leaf[leaf.index(after: newline)...])
                as? [String: String]
        else { return false }
        return content["id"] == receipt.jti && content["subject"] == receipt.sub
            && content["purpose"] == receipt.purpose
            && content["decision"] == receipt.decision && content["notice_version"] == String(receipt.noticeVersion)
            && content["method"] == receipt.method
    }
}
