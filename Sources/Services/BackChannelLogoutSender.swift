import Foundation
public import Identity
public import Logging
public import Outbox

/// Tells relying parties that sessions ended (OpenID Connect Back-Channel Logout 1.0). Each round
/// leases the due notices, so replicas never send the same one at once, signs a fresh logout token for
/// each and posts it; a failure is retried with backoff and jitter until the policy gives up. Logs name
/// a notice by its client, never the person or the token.
///
/// Delivery is at least once: a sender that dies after the relying party answered but before the
/// notice is forgotten leaves it to be sent again, with another `jti` and the same `sid`.
public struct BackChannelLogoutSender: Sendable {
    let notices: any LogoutNoticeRepository
    let identity: IdentityService
    let transport: any LogoutTokenTransport
    let policy: OutboxRetryPolicy
    let logger: Logger
    let now: @Sendable () -> Date
    /// Notices leased, and sent side by side, per round.
    static let batchSize = 8
    /// Longer than a delivery's timeout, so a lease outlives the attempt it covers.
    static let leaseDuration: TimeInterval = 60

    public init(
        notices: any LogoutNoticeRepository, identity: IdentityService, transport: any LogoutTokenTransport,
        policy: OutboxRetryPolicy = OutboxRetryPolicy(), logger: Logger,
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.now = now
        self.notices = notices
        self.identity = identity
        self.transport = transport
        self.policy = policy
        self.logger = logger
    }

    /// Leases the notices due now and delivers them; returns how many it leased.
    @discardableResult
    public func sendDue() async throws -> Int {
        let leased = try await notices.leaseLogoutNotices(limit: Self.batchSize, now: now(), for: Self.leaseDuration)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for notice in leased { group.addTask { try await deliver(notice) } }
            try await group.waitForAll()
        }
        return leased.count
    }

    private func deliver(_ notice: LogoutNotice) async throws {
        let metadata: Logger.Metadata = ["client": "\(notice.clientID)", "attempt": "\(notice.attempt)"]
        guard let delivery = try await identity.logoutDelivery(for: notice) else {
            try await notices.finishLogoutNotice(sessionID: notice.sessionID, lease: notice.lease)
            logger.info("logout notice dropped: its client no longer listens", metadata: metadata)
            return
        }
        do {
            try await transport.deliver(delivery.token, to: delivery.uri)
        } catch {
            let retryAt = policy.retryAt(
                after: notice.attempt, permanent: error.permanent, now: now(), unit: Double.random(in: 0..<1))
            try await notices.failLogoutNotice(
                sessionID: notice.sessionID, lease: notice.lease, error: error.reason, retryAt: retryAt)
            var details = metadata
            details["error"] = "\(error.reason)"
            if retryAt == nil {
                logger.error("logout notice is dead: no more attempts", metadata: details)
            } else {
                logger.warning("logout notice not delivered; it will be tried again", metadata: details)
            }
            return
        }
        try await notices.finishLogoutNotice(sessionID: notice.sessionID, lease: notice.lease)
        logger.debug("logout notice delivered", metadata: metadata)
    }
}
