import Foundation
import Kernel

/// The proof of one consent decision handed to the person who made it: the fields of the Kantara
/// Consent Receipt and ISO/IEC 27560 that apply to one decision. It is signed as a JWS
/// (`typ: consent-receipt+jwt`) and carries the decision's ledger sequence, so a receipt can be
/// checked offline against the JWKS and, with the ledger, against the record.
public struct ConsentReceipt: Codable, Sendable, Equatable {
    public struct Controller: Codable, Sendable, Equatable {
        public var name: String
        public var contact: String?

        public init(name: String, contact: String?) {
            self.name = name
            self.contact = contact
        }
    }

    public static let version = "qspp-consent-receipt-1"

    public var receiptVersion = Self.version
    /// The receipt id: the consent event's id.
    public var jti: String
    public var iss: String
    /// The data subject, as pseudonymous as the ledger keeps it.
    public var sub: String
    /// When the decision was recorded, in seconds (JWT `iat`).
    public var iat: Int64
    public var controller: Controller
    public var jurisdiction: String
    public var purpose: String
    public var noticeVersion: Int
    public var decision: String
    public var method: String
    /// The recording time with microseconds, as RFC 3339.
    public var consentTimestamp: String
    public var ledgerSequence: Int64
    /// The ledger entry the receipt was issued from: its leaf in the transparency log (base64 of the
    /// reference, a newline and the canonical content), the log's origin, and where its inclusion proof
    /// is served. With a checkpoint of that log, the person can check offline that the decision is in it.
    public var ledgerLeaf: String?
    public var ledgerLog: String?
    public var ledgerProof: String?

    enum CodingKeys: String, CodingKey {
        case jti, iss, sub, iat, controller, jurisdiction, purpose, decision, method
        case receiptVersion = "receipt_version"
        case noticeVersion = "notice_version"
        case consentTimestamp = "consent_timestamp"
        case ledgerSequence = "ledger_seq"
        case ledgerLeaf = "ledger_leaf"
        case ledgerLog = "ledger_log"
        case ledgerProof = "ledger_proof"
    }

    /// Nil for an event recorded before the ledger existed: there is nothing to prove it against.
    public init?(event: ConsentEvent, issuer: String, controller: Controller, jurisdiction: String) {
        guard let ledgerSequence = event.ledgerSequence else { return nil }
        self.jti = event.id.lowercasedString
        self.iss = issuer
        self.sub = event.subjectID.rawValue
        self.iat = Int64(event.recordedAt.timeIntervalSince1970.rounded(.down))
        self.controller = controller
        self.jurisdiction = jurisdiction
        self.purpose = event.purposeID.rawValue
        self.noticeVersion = event.noticeVersion
        self.decision = event.decision.rawValue
        self.method = event.method.rawValue
        self.consentTimestamp = RFC3339.string(from: event.recordedAt)
        self.ledgerSequence = ledgerSequence
    }
}
