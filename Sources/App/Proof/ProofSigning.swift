import Consent
import Foundation
import Identity
import Privacy

/// The JWS types QSPP signs besides tokens; a verifier must check `typ`, so one kind of statement can
/// never pass for another.
enum ProofType {
    static let consentReceipt = "consent-receipt+jwt"
    static let ledgerCheckpoint = "ledger-checkpoint+jwt"
}

/// Checkpoints are signed with the token keys, so the public JWKS verifies them.
struct RingCheckpointSigner: CheckpointSigner {
    let ring: SigningKeyRing

    func sign(_ statement: CheckpointStatement) async throws -> String {
        try await ring.signDocument(statement, type: ProofType.ledgerCheckpoint)
    }

    func verify(_ signature: String) async -> CheckpointStatement? {
        await ring.verifyDocument(signature, type: ProofType.ledgerCheckpoint, as: CheckpointStatement.self)
    }
}

/// Signs consent receipts on request. Signing at every write would cost an ML-DSA-65 signature
/// (about 0.9 ms of CPU) per decision, several times the rest of the write path; the receipt's content
/// is fixed at write time (the event and its ledger sequence), so signing it later proves the same.
struct ReceiptIssuer: Sendable {
    let ring: SigningKeyRing
    let issuer: String
    let controller: ConsentReceipt.Controller
    let jurisdiction: String

    func receipt(for event: ConsentEvent) -> ConsentReceipt? {
        ConsentReceipt(event: event, issuer: issuer, controller: controller, jurisdiction: jurisdiction)
    }

    func sign(_ receipt: ConsentReceipt) async throws -> String {
        try await ring.signDocument(receipt, type: ProofType.consentReceipt)
    }
}
