import Consent
import Crypto
import Foundation
import Identity
import Kernel
import PQCrypto
import Privacy

/// What the ledger keeps of each kind of event: identifiers, kinds and times, never personal data.
/// Sealed fields are bound by the digest of their ciphertext, which names no one and outlives
/// crypto-shredding, so a rewritten ciphertext shows as plainly as a flipped decision.
extension LedgerRecord {
    /// A consent event as the ledger recorded it: every column, `sealedIP` and `sealedAgent` being the
    /// ciphertexts stored. Receipts check the fields they certify with ``consentFields(_:)``.
    init(consent event: ConsentEvent, sealedIP: String?, sealedAgent: String?) {
        var fields = Self.consentFields(event)
        fields["sealed_ip"] = sealedIP.map(Self.digest)
        fields["sealed_user_agent"] = sealedAgent.map(Self.digest)
        self.init(type: "consent", id: event.id.lowercasedString, fields: fields)
    }

    /// The fields a consent entry states about the decision itself.
    public static func consentFields(_ event: ConsentEvent) -> [String: String] {
        var fields = [
            "subject": event.subjectID.rawValue, "purpose": event.purposeID.rawValue,
            "decision": event.decision.rawValue, "notice_version": String(event.noticeVersion),
            "method": event.method.rawValue, "recorded_at": String(event.recordedAt.microsecondsSince1970),
        ]
        fields["client_timestamp"] = event.clientTimestamp.map { String($0.microsecondsSince1970) }
        return fields
    }

    init(auth event: AuthEvent, sealedIP: String?, sealedAgent: String?) {
        var fields = ["kind": event.kind.rawValue, "occurred_at": String(event.occurredAt.microsecondsSince1970)]
        fields["user"] = event.userID?.lowercasedString
        fields["session"] = event.sessionID?.lowercasedString
        for (key, value) in event.details { fields["detail." + key] = value }
        fields["sealed_ip"] = sealedIP.map(Self.digest)
        fields["sealed_user_agent"] = sealedAgent.map(Self.digest)
        self.init(type: "auth", id: event.id.lowercasedString, fields: fields)
    }

    /// A notice version published, which webhooks report.
    init(notice: Notice, of purpose: PurposeID, publishedAt: Date) {
        self.init(
            type: "notice", id: "\(purpose.rawValue):\(notice.version)",
            fields: [
                "purpose": purpose.rawValue, "version": String(notice.version),
                "effective_at": String(notice.effectiveAt.microsecondsSince1970),
                "published_at": String(publishedAt.microsecondsSince1970),
            ])
    }

    /// The reason is free text and may name people: the ledger keeps only whether there was one.
    init(request event: RequestEvent) {
        var fields = [
            "to": event.to.rawValue, "actor": event.actor.lowercasedString,
            "occurred_at": String(event.at.microsecondsSince1970), "has_reason": event.reason == nil ? "no" : "yes",
        ]
        fields["from"] = event.from?.rawValue
        self.init(type: "dsr", id: event.requestID.lowercasedString, fields: fields)
    }

    /// The contents a stored row may have been recorded with: the current form, and for a row with
    /// sealed fields the form from before they were bound, which entries written then still carry.
    static func contents(
        _ fields: [String: String], type: String, id: String, sealedIP: String?, sealedAgent: String?
    ) -> [Data] {
        var bound = fields
        bound["sealed_ip"] = sealedIP.map(digest)
        bound["sealed_user_agent"] = sealedAgent.map(digest)
        let current = LedgerRecord(type: type, id: id, fields: bound).content
        guard sealedIP != nil || sealedAgent != nil else { return [current] }
        return [current, LedgerRecord(type: type, id: id, fields: fields).content]
    }

    /// A stored consent row in the current form, its keys written in order without a dictionary:
    /// verification rebuilds one for every consent entry. Equal to `contents(row.ledgerFields, …)[0]`.
    static func consentContent(_ row: StoredEventRow, id: String) -> Data { consentWriter(row, id: id).object }

    /// Whether `content` is the row's current form, without making it.
    static func consentContent(_ row: StoredEventRow, id: String, is content: Data) -> Bool {
        consentWriter(row, id: id).isObject(content)
    }

    private static func consentWriter(_ row: StoredEventRow, id: String) -> CanonicalJSON.Writer {
        var writer = CanonicalJSON.Writer()
        if let clientTimestamp = row.clientTimestampMicros { writer.field("client_timestamp", clientTimestamp) }
        writer.field("decision", row.decision)
        writer.field("id", id)
        writer.field("method", row.method)
        writer.field("notice_version", Int64(row.noticeVersion))
        writer.field("purpose", row.purposeID)
        writer.field("recorded_at", row.recordedAtMicros)
        if let sealedIP = row.sourceIP { writer.field("sealed_ip", digest(sealedIP)) }
        if let sealedAgent = row.userAgent { writer.field("sealed_user_agent", digest(sealedAgent)) }
        writer.field("subject", row.subjectID)
        writer.field("type", "consent")
        return writer
    }

    private static func digest(_ ciphertext: String) -> String {
        Hex.encode(SHA256.hash(data: Data(ciphertext.utf8)))
    }
}
