import Foundation
public import Logging
public import Mail
public import Outbox

/// Sends what the outbox holds. Each round leases the due messages, so replicas never send the same
/// one at once, then renders and hands each to the transport, a few at a time, and records the
/// outcome under the lease. A failure is retried with backoff and jitter until the policy gives up;
/// a message whose subject was erased is dropped unread. Logs name a message by its id and template,
/// never its recipient or its values.
///
/// Delivery is at least once: a sender that dies after the relay accepted a message but before its
/// outcome is stored leaves the message to be sent again once the lease ends. Every attempt carries
/// the same Message-ID, so a mailbox can tell the copies apart.
public struct MailOutboxSender: Sendable {
    let outbox: any MailOutboxRepository
    let transport: any MailTransport
    let templates: MailTemplates
    let from: MailAddress
    let policy: OutboxRetryPolicy
    let logger: Logger
    let now: @Sendable () -> Date
    /// How long a leased message is this sender's (``MailSettings/leaseDuration``).
    let leaseDuration: TimeInterval
    /// Messages leased, and sent side by side, per round: the most a crash can leave to be sent twice.
    static let batchSize = 8

    public init(
        outbox: any MailOutboxRepository, transport: any MailTransport, templates: MailTemplates = .bundled,
        from: MailAddress, policy: OutboxRetryPolicy = OutboxRetryPolicy(), leaseDuration: TimeInterval = 60,
        logger: Logger, now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.leaseDuration = leaseDuration
        self.outbox = outbox
        self.transport = transport
        self.templates = templates
        self.from = from
        self.policy = policy
        self.logger = logger
        self.now = now
    }

    /// Leases the messages due now and delivers them; returns how many it leased.
    @discardableResult
    public func sendDue() async throws -> Int {
        let leased = try await outbox.lease(limit: Self.batchSize, now: now(), for: leaseDuration)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for item in leased { group.addTask { try await deliver(item) } }
            try await group.waitForAll()
        }
        return leased.count
    }

    private func deliver(_ item: LeasedMail) async throws {
        guard let mail = item.mail else {
            try await outbox.markDropped(item.id, lease: item.lease)
            logger.info("mail dropped: its subject was erased", metadata: ["mail": "\(item.id)"])
            return
        }
        let metadata: Logger.Metadata = [
            "mail": "\(item.id)", "template": "\(mail.template)", "attempt": "\(item.attempt)",
        ]
        do {
            try await transport.send(try message(for: mail))
        } catch {
            let retryAt = policy.retryAt(
                after: item.attempt, permanent: error.isPermanent, now: now(), unit: Double.random(in: 0..<1))
            try await outbox.markFailed(item.id, lease: item.lease, error: error.description, retryAt: retryAt)
            var details = metadata
            details["error"] = "\(error)"
            if retryAt == nil {
                logger.error("mail is dead: no more attempts", metadata: details)
            } else {
                logger.warning("mail not sent; it will be tried again", metadata: details)
            }
            return
        }
        if try await outbox.markSent(item.id, lease: item.lease, at: now()) {
            logger.debug("mail sent", metadata: metadata)
        } else {
            logger.warning("mail sent after its lease ended; it may go out twice", metadata: metadata)
        }
    }

    /// The message for `mail`, with a Message-ID that every attempt shares.
    func message(for mail: OutboundMail) throws(MailError) -> MailMessage {
        guard let rendered = templates.render(mail) else { throw MailError(.invalidSettings, step: "template") }
        return try MailMessage(
            from: from, to: [MailAddress(mail.recipient)], subject: rendered.subject, text: rendered.text,
            html: rendered.html, date: now(), messageID: "<\(mail.id.uuidString.lowercased())@\(from.domain)>")
    }
}
