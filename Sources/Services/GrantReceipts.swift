public import Foundation
public import Identity
import PQCrypto
import Privacy

extension ProofType {
    public static let grantReceipt = "grant-receipt+jwt"
}

/// A signed statement of a person's decision about an application: the scopes they allowed it on the
/// consent screen, or their withdrawal when they disconnected it. It is issued from the audit event
/// and its ledger entry, as a consent receipt is from a consent event.
public struct GrantReceipt: Codable, Sendable, Equatable {
    public var jti: String
    public var iss: String
    /// The person (their account id, the `sub` of their ID tokens).
    public var sub: String
    /// When the decision was recorded, in seconds since 1970.
    public var iat: Int
    /// `granted` or `withdrawn`.
    public var decision: String
    public var clientID: String
    /// The scopes allowed, for a grant.
    public var scope: String?
    public var ledgerSequence: Int64
    public var ledgerLeaf: String
    public var ledgerLog: String

    enum CodingKeys: String, CodingKey {
        case jti, iss, sub, iat, decision, scope
        case clientID = "client_id"
        case ledgerSequence = "ledger_sequence"
        case ledgerLeaf = "ledger_leaf"
        case ledgerLog = "ledger_log"
    }
}

extension ReceiptIssuer {
    /// The signed receipt of `event`, a grant or a withdrawal, or nil for any other event. Issued from
    /// the ledger entry: an event whose stored row no longer matches what the ledger recorded gets none.
    public func signedGrantReceipt(for event: AuthEvent) async throws -> String? {
        let decision: String
        switch event.kind {
        case .oauthGranted: decision = "granted"
        case .oauthDisconnected: decision = "withdrawn"
        default: return nil
        }
        guard let user = event.userID, let clientID = event.details["client_id"] else { return nil }
        let reference = "auth:" + event.id.lowercasedString
        guard let sequence = try await ledger.sequence(of: reference),
            let entry = try await ledger.entry(sequence), entry.reference == reference,
            let recorded = try? JSONDecoder().decode([String: String].self, from: entry.content),
            recorded["kind"] == event.kind.rawValue, recorded["user"] == user.lowercasedString,
            recorded["detail.client_id"] == clientID, recorded["detail.scope"] == event.details["scope"],
            recorded["occurred_at"] == String(event.occurredAt.microsecondsSince1970)
        else {
            throw LedgerIntegrityError(
                problem: LedgerProblem(
                    sequence: 0, reason: "the recorded application decision differs from its ledger entry"))
        }
        let receipt = GrantReceipt(
            jti: event.id.lowercasedString, iss: issuer, sub: user.lowercasedString,
            iat: Int(event.occurredAt.timeIntervalSince1970), decision: decision, clientID: clientID,
            scope: event.details["scope"], ledgerSequence: entry.sequence, ledgerLeaf: entry.leaf.base64EncodedString(),
            ledgerLog: ledger.log.origin)
        return try await ring.signDocument(receipt, type: ProofType.grantReceipt)
    }
}
