import Consent
import Foundation
import Identity
import Kernel
import PQCrypto
import Privacy

/// What the ledger keeps of each kind of event: identifiers, kinds and times, never personal data.
extension LedgerRecord {
    public init(consent event: ConsentEvent) {
        var fields = [
            "subject": event.subjectID.rawValue, "purpose": event.purposeID.rawValue,
            "decision": event.decision.rawValue, "notice_version": String(event.noticeVersion),
            "method": event.method.rawValue, "recorded_at": String(event.recordedAt.microsecondsSince1970),
        ]
        fields["client_timestamp"] = event.clientTimestamp.map { String($0.microsecondsSince1970) }
        self.init(type: "consent", id: event.id.lowercasedString, fields: fields)
    }

    init(auth event: AuthEvent) {
        var fields = ["kind": event.kind.rawValue, "occurred_at": String(event.occurredAt.microsecondsSince1970)]
        fields["user"] = event.userID?.lowercasedString
        fields["session"] = event.sessionID?.lowercasedString
        for (key, value) in event.details { fields["detail." + key] = value }
        self.init(type: "auth", id: event.id.lowercasedString, fields: fields)
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
}
