public import Foundation
import Kernel

/// What a webhook endpoint may be told about.
public enum WebhookEventKind: String, Sendable, CaseIterable, Comparable, Codable {
    case consentGranted = "consent.granted"
    case consentWithdrawn = "consent.withdrawn"
    case subjectMerged = "subject.merged"
    case subjectErased = "subject.erased"
    case requestCreated = "request.created"
    case requestCompleted = "request.completed"
    case noticePublished = "purpose.notice_published"
    /// A data-subject request's task for one downstream system: sent to that system's endpoint only.
    case requestTask = "request.task"

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }

    /// The kinds that concern one purpose, which an endpoint's purpose filter narrows.
    public var isAboutAPurpose: Bool {
        switch self {
        case .consentGranted, .consentWithdrawn, .noticePublished: true
        case .subjectMerged, .subjectErased, .requestCreated, .requestCompleted, .requestTask: false
        }
    }

    /// Whether an endpoint may ask for it; a task goes only to the system it is for.
    public var isSubscribable: Bool { self != .requestTask }
}

/// A system an administrator registered to hear about changes: where to post, what to post, and
/// whether it still listens. Its secret is never here: it is sealed in the database and shown once.
public struct WebhookEndpoint: Sendable, Equatable {
    public let id: UUID
    public var url: String
    public var description: String
    public var kinds: Set<WebhookEventKind>
    /// Empty: every purpose.
    public var purposes: Set<String>
    public var createdBy: UUID
    public var createdAt: Date
    /// Set when an administrator, or a run of failures, stopped deliveries to it.
    public var disabledAt: Date?
    public var disabledReason: String?

    public init(
        id: UUID, url: String, description: String, kinds: Set<WebhookEventKind>, purposes: Set<String>,
        createdBy: UUID, createdAt: Date, disabledAt: Date? = nil, disabledReason: String? = nil
    ) {
        self.id = id
        self.url = url
        self.description = description
        self.kinds = kinds
        self.purposes = purposes
        self.createdBy = createdBy
        self.createdAt = createdAt
        self.disabledAt = disabledAt
        self.disabledReason = disabledReason
    }

    /// What its secret is sealed to, so that no other sealed value opens as it.
    public static func sealingContext(_ id: UUID) -> String { "webhook secret " + id.lowercasedString }

    /// Whether an event of `kind` about `purpose` goes to this endpoint. A disabled endpoint's events
    /// queue up for when it is enabled again.
    public func wants(_ kind: WebhookEventKind, purpose: String?) -> Bool {
        guard kinds.contains(kind) else { return false }
        guard kind.isAboutAPurpose, !purposes.isEmpty, let purpose else { return true }
        return purposes.contains(purpose)
    }
}

/// One event for one endpoint, queued until the endpoint has it. Deliveries to an endpoint with the
/// same ordering key (the subject, or the purpose) go strictly in order of their events.
public struct WebhookDelivery: Sendable, Equatable {
    public enum State: String, Sendable, Codable {
        case pending
        case delivered
        /// Every attempt failed: kept, for an administrator to replay.
        case dead
    }

    public let id: UUID
    public let endpointID: UUID
    public let event: WebhookEvent
    public var state: State
    public var attempts: Int
    public var nextAttemptAt: Date
    public var lastError: String?
    public var deliveredAt: Date?
    /// Set while a sender holds the delivery.
    public var lease: UUID?

    public init(
        id: UUID, endpointID: UUID, event: WebhookEvent, state: State, attempts: Int, nextAttemptAt: Date,
        lastError: String? = nil, deliveredAt: Date? = nil, lease: UUID? = nil
    ) {
        self.id = id
        self.endpointID = endpointID
        self.event = event
        self.state = state
        self.attempts = attempts
        self.nextAttemptAt = nextAttemptAt
        self.lastError = lastError
        self.deliveredAt = deliveredAt
        self.lease = lease
    }
}

/// An event as every endpoint receives it: its id (`webhook-id`), the JSON body, and a signature over
/// both that anyone may check against the public JWKS.
public struct WebhookEvent: Sendable, Equatable {
    /// `evt_` and the ledger sequence of the change: the same on every endpoint and every attempt.
    public let id: String
    public let kind: WebhookEventKind
    /// The subject, or `purpose:<id>` for a notice: what deliveries are ordered by.
    public let orderingKey: String
    public let purpose: String?
    public let occurredAt: Date
    public let body: Data
    /// A compact JWS (`typ: webhook+jwt`) stating the id, the kind and the body's SHA-256.
    public let signature: String

    public init(
        id: String, kind: WebhookEventKind, orderingKey: String, purpose: String?, occurredAt: Date, body: Data,
        signature: String
    ) {
        self.id = id
        self.kind = kind
        self.orderingKey = orderingKey
        self.purpose = purpose
        self.occurredAt = occurredAt
        self.body = body
        self.signature = signature
    }
}
