import Foundation

/// The rights a person can exercise: GDPR Articles 15–18, 20 and 21, and the CCPA/CPRA rights.
public enum RequestKind: String, Sendable, CaseIterable, Codable {
    case access, portability, erasure, rectification, restriction, objection
    case know, delete, correct, optOut = "opt_out"

    /// The law a request is made under decides its deadline.
    public var regime: Regime {
        switch self {
        case .access, .portability, .erasure, .rectification, .restriction, .objection: .gdpr
        case .know, .delete, .correct, .optOut: .ccpa
        }
    }

    /// Kinds whose fulfilment changes or destroys the person's data. Two people take part in each:
    /// one files it, another verifies it.
    public var needsSecondPerson: Bool {
        switch self {
        case .erasure, .delete, .rectification, .correct, .restriction: true
        case .access, .portability, .objection, .know, .optOut: false
        }
    }
}

public enum Regime: String, Sendable, Codable {
    case gdpr, ccpa
}

public enum RequestStatus: String, Sendable, CaseIterable, Codable {
    case received, verified
    case inProgress = "in_progress"
    case completed, rejected

    public var isFinal: Bool { self == .completed || self == .rejected }

    /// received → verified → in_progress → completed; any open request may be rejected, with a reason.
    func allows(_ next: RequestStatus) -> Bool {
        switch (self, next) {
        case (.received, .verified), (.verified, .inProgress), (.inProgress, .completed): true
        case (let from, .rejected): !from.isFinal
        default: false
        }
    }
}

public struct DataSubjectRequest: Sendable, Equatable {
    public let id: UUID
    public let subjectID: UUID
    public let kind: RequestKind
    public var status: RequestStatus
    public let receivedAt: Date
    public var dueAt: Date
    /// Set once, when the deadline was extended; the reason is kept with it.
    public var extensionReason: String?
    public var rejectionReason: String?
    /// Who filed it: the subject, or an admin or DPO on the subject's behalf.
    public let filedBy: UUID
    /// How the subject's identity was checked when someone else filed the request.
    public let identityVerification: String?
    public var updatedAt: Date

    public init(
        id: UUID, subjectID: UUID, kind: RequestKind, status: RequestStatus, receivedAt: Date, dueAt: Date,
        extensionReason: String?, rejectionReason: String?, filedBy: UUID, identityVerification: String?,
        updatedAt: Date
    ) {
        self.id = id
        self.subjectID = subjectID
        self.kind = kind
        self.status = status
        self.receivedAt = receivedAt
        self.dueAt = dueAt
        self.extensionReason = extensionReason
        self.rejectionReason = rejectionReason
        self.filedBy = filedBy
        self.identityVerification = identityVerification
        self.updatedAt = updatedAt
    }

    public func isOverdue(at now: Date) -> Bool { !status.isFinal && dueAt < now }
}

/// One change of a request's state, kept for the record.
public struct RequestEvent: Sendable, Equatable {
    public let requestID: UUID
    public let from: RequestStatus?
    public let to: RequestStatus
    public let actor: UUID
    public let reason: String?
    public let at: Date

    public init(requestID: UUID, from: RequestStatus?, to: RequestStatus, actor: UUID, reason: String?, at: Date) {
        self.requestID = requestID
        self.from = from
        self.to = to
        self.actor = actor
        self.reason = reason
        self.at = at
    }
}
