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
        // Each notice fails on its own: one that throws neither cancels the others nor escapes its
        // attempt count.
        await withTaskGroup(of: Void.self) { group in
            for notice in leased {
                group.addTask {
                    do {
                        try await deliver(notice)
                    } catch {
                        await fail(notice, DeliveryFailure("not sent (\(type(of: error)))", permanent: false))
                    }
                }
            }
        }
        return leased.count
    }

    private func deliver(_ notice: LogoutNotice) async throws {
        guard let delivery = try await identity.logoutDelivery(for: notice) else {
            try await notices.finishLogoutNotice(sessionID: notice.sessionID, lease: notice.lease)
            logger.info("logout notice dropped: its client no longer listens", metadata: Self.metadata(notice))
            return
        }
        do {
            try await transport.deliver(delivery.token, to: delivery.uri)
        } catch {
            await fail(notice, error)
            return
        }
        try await notices.finishLogoutNotice(sessionID: notice.sessionID, lease: notice.lease)
        logger.debug("logout notice delivered", metadata: Self.metadata(notice))
    }

    /// Records a failed attempt, to be tried again after the policy's backoff or kept as dead.
    private func fail(_ notice: LogoutNotice, _ error: DeliveryFailure) async {
        var metadata = Self.metadata(notice)
        metadata["error"] = "\(error.reason)"
        let retryAt = policy.retryAt(
            after: notice.attempt, permanent: error.permanent, now: now(), unit: Double.random(in: 0..<1))
        do {
            try await notices.failLogoutNotice(
                sessionID: notice.sessionID, lease: notice.lease, error: error.reason, retryAt: retryAt)
        } catch {
            // The lease runs out on its own, and the notice is leased again then.
            logger.warning("logout notice's failure not recorded", metadata: ["error": "\(type(of: error))"])
            return
        }
        if retryAt == nil {
            logger.error("logout notice is dead: no more attempts", metadata: metadata)
        } else {
            logger.warning("logout notice not delivered; it will be tried again", metadata: metadata)
        }
    }

    private static func metadata(_ notice: LogoutNotice) -> Logger.Metadata {
        ["client": "\(notice.clientID)", "attempt": "\(notice.attempt)"]
    }
}
