public import Foundation

/// Where a queued message is in its life.
public enum OutboxState: String, Sendable, CaseIterable, Codable {
    /// Waiting for its first or next attempt.
    case pending
    /// Accepted by the relay (or written to the mail folder); its recipient and values are gone.
    case sent
    /// Out of attempts, or refused for good: kept for admins, who may queue it again.
    case dead
    /// Its subject was erased before it went out, so it never will.
    case dropped
}

/// A message leased to one sender: until `leasedUntil` no other replica takes it.
public struct LeasedMail: Sendable {
    public let id: UUID
    /// Nil when the message can no longer be opened: its subject's keys are destroyed.
    public let mail: OutboundMail?
    /// Attempts including this one.
    public let attempt: Int
    /// Proves this lease, so a sender whose lease ran out cannot overwrite its successor's outcome.
    public let lease: UUID

    public init(id: UUID, mail: OutboundMail?, attempt: Int, lease: UUID) {
        self.id = id
        self.mail = mail
        self.attempt = attempt
        self.lease = lease
    }
}

/// What admins see of a queued message: never its recipient or its values.
public struct QueuedMailStatus: Sendable, Equatable {
    public let id: UUID
    public let subject: String
    public let template: MailTemplateName
    public let state: OutboxState
    public let attempts: Int
    public let createdAt: Date
    public let nextAttemptAt: Date?
    public let sentAt: Date?
    /// The last failure's kind and step, as ``Mail/MailError`` names them: never the server's text.
    public let lastError: String?

    public init(
        id: UUID, subject: String, template: MailTemplateName, state: OutboxState, attempts: Int, createdAt: Date,
        nextAttemptAt: Date?, sentAt: Date?, lastError: String?
    ) {
        self.id = id
        self.subject = subject
        self.template = template
        self.state = state
        self.attempts = attempts
        self.createdAt = createdAt
        self.nextAttemptAt = nextAttemptAt
        self.sentAt = sentAt
        self.lastError = lastError
    }
}

/// The outbox's table. Messages enter it only inside the transactions of the changes that cause them
/// (the repositories' `queueing` parameters); this protocol is the sender's and the admins' side.
public protocol MailOutboxRepository: Sendable {
    /// Leases up to `limit` pending messages that are due at `now` and not leased by a live lease,
    /// oldest first, counting an attempt on each. Replicas leasing at once get disjoint messages.
    func lease(limit: Int, now: Date, for duration: TimeInterval) async throws -> [LeasedMail]
    /// Records delivery and forgets the recipient and values. False when the lease was lost.
    @discardableResult
    func markSent(_ id: UUID, lease: UUID, at date: Date) async throws -> Bool
    /// Records a failed attempt: due again at `retryAt`, or dead when that is nil.
    @discardableResult
    func markFailed(_ id: UUID, lease: UUID, error: String, retryAt: Date?) async throws -> Bool
    /// Records that a message can never go out because its subject was erased.
    @discardableResult
    func markDropped(_ id: UUID, lease: UUID) async throws -> Bool
    /// Messages in `state`, newest first.
    func mails(in state: OutboxState, limit: Int) async throws -> [QueuedMailStatus]
    /// Queues a dead message again, with its attempts reset. False when there is no such dead message.
    func requeue(_ id: UUID, at date: Date) async throws -> Bool
    /// Deletes sent and dropped messages' rows older than `date`, and returns how many.
    func purge(before date: Date) async throws -> Int
}
