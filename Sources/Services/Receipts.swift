public import Consent
public import Foundation
public import Identity
import PQCrypto
import Privacy

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
            let jwk: [String: String] =
                algorithm == .mldsa65
                ? ["kty": "AKP", "alg": algorithm.rawValue, "pub": Base64URL.encode(stored.publicKey)]
                : ["kty": "OKP", "crv": "Ed25519", "alg": algorithm.rawValue, "x": Base64URL.encode(stored.publicKey)]
            return jwk.merging(["kid": stored.keyID]) { current, _ in current }
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
        of eventID: UUID, authorize: (SubjectID) throws -> Void
    ) async throws -> Signed? {
        guard let event = try await consents.event(eventID) else { return nil }
        try authorize(event.subjectID)
        guard let receipt = receipt(for: event) else { return nil }
        return Signed(receipt: receipt, jws: try await sign(receipt))
    }
}
