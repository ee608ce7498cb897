import Foundation
import Kernel

public enum Decision: String, Sendable, CaseIterable {
    case granted
    case withdrawn
}

/// How a decision reached us.
public enum ConsentMethod: String, Sendable, CaseIterable {
    case explicit
    case gpc
    case api
    case `import`
}

/// One entry of the append-only consent log. Entries are never updated or deleted.
public struct ConsentEvent: Sendable, Equatable {
    public var id: UUID
    public var subjectID: SubjectID
    public var purposeID: PurposeID
    public var decision: Decision
    public var noticeVersion: Int
    public var method: ConsentMethod
    public var sourceIP: String?
    public var userAgent: String?
    /// When our server recorded it.
    public var recordedAt: Date
    /// When the client says the person decided, if it told us.
    public var clientTimestamp: Date?
    /// The event's entry in the tamper-evident ledger; set once the event is stored.
    public var ledgerSequence: Int64?

    public init(
        id: UUID, subjectID: SubjectID, purposeID: PurposeID, decision: Decision, noticeVersion: Int,
        method: ConsentMethod, sourceIP: String?, userAgent: String?, recordedAt: Date, clientTimestamp: Date?,
        ledgerSequence: Int64? = nil
    ) {
        self.id = id
        self.subjectID = subjectID
        self.purposeID = purposeID
        self.decision = decision
        self.noticeVersion = noticeVersion
        self.method = method
        // Both backends store an absent and an empty value alike.
        self.sourceIP = sourceIP.flatMap { $0.isEmpty ? nil : $0 }
        self.userAgent = userAgent.flatMap { $0.isEmpty ? nil : $0 }
        self.recordedAt = recordedAt.roundedToMicroseconds
        self.clientTimestamp = clientTimestamp?.roundedToMicroseconds
        self.ledgerSequence = ledgerSequence
    }
}

/// A decision as a caller asks us to record it, before the service has resolved its notice version.
public struct DecisionRequest: Sendable {
    public var purposeID: PurposeID
    public var decision: Decision
    public var noticeVersion: Int?
    public var method: ConsentMethod
    public var clientTimestamp: Date?

    public init(
        purposeID: PurposeID, decision: Decision, noticeVersion: Int? = nil, method: ConsentMethod = .api,
        clientTimestamp: Date? = nil
    ) {
        self.purposeID = purposeID
        self.decision = decision
        self.noticeVersion = noticeVersion
        self.method = method
        self.clientTimestamp = clientTimestamp
    }
}

/// Where a request came from, recorded with every event it writes.
public struct RequestOrigin: Sendable {
    public var sourceIP: String?
    public var userAgent: String?
    public var globalPrivacyControl: Bool

    public init(sourceIP: String? = nil, userAgent: String? = nil, globalPrivacyControl: Bool = false) {
        self.sourceIP = sourceIP
        self.userAgent = userAgent
        self.globalPrivacyControl = globalPrivacyControl
    }
}
