import Crypto
import Foundation
import Identity
import Kernel
import Logging
import Outbox
import PQCrypto

/// Posts due webhook deliveries, signed as Standard Webhooks says (`webhook-id`, `webhook-timestamp`,
/// `webhook-signature: v1,<HMAC-SHA256>`) and with the event's JWS (`webhook-signature-jws`), which
/// anyone can check against the public JWKS. Each round leases deliveries, never two of one endpoint
/// and subject at once, so each subject's events reach each endpoint in order; a failure is retried
/// with backoff and jitter until the policy gives up, and the delivery is then dead, for an
/// administrator to replay. An endpoint that answered nothing through a whole retry schedule is
/// disabled, and the administrator who registered it is told.
///
/// Delivery is at least once: a sender that dies after the endpoint answered but before the delivery
/// is marked leaves it to be sent again, with the same `webhook-id`.
struct WebhookSender: Sendable {
    let webhooks: any WebhookRepository
    let transport: any WebhookTransport
    let secrets: WebhookSecrets
    let identity: IdentityService
    let policy: OutboxRetryPolicy
    let metrics: QSPPMetrics
    let logger: Logger
    let now: @Sendable () -> Date
    /// Deliveries leased, and sent side by side, per round.
    static let batchSize = 128
    /// Longer than a round: a name's resolution and a delivery's deadline, then the marking.
    static let leaseDuration: TimeInterval = 60

    private enum Outcome { case delivered, retried, dead }

    /// Leases the deliveries due now and sends them; returns how many it leased.
    @discardableResult
    func sendDue() async throws -> Int {
        let lease = UUID()
        let leased = try await webhooks.leaseWebhookDeliveries(
            limit: Self.batchSize, now: now(), for: Self.leaseDuration, lease: lease)
        guard !leased.isEmpty else { return 0 }
        var targets: [UUID: (url: String, key: SymmetricKey)] = [:]
        var dead: [WebhookDelivery] = []
        for id in Set(leased.map(\.endpointID)) {
            // A deleted endpoint's deliveries are gone with it; a secret that does not open fails its
            // deliveries now, so they are not left leased.
            guard let endpoint = try await webhooks.webhookEndpoint(id: id) else { continue }
            guard let key = try? await secrets.key(for: id) else {
                for delivery in leased where delivery.endpointID == id {
                    let failure = DeliveryFailure("the endpoint's secret does not open", permanent: false)
                    if await fail(delivery, lease: lease, failure) == .dead { dead.append(delivery) }
                }
                continue
            }
            targets[id] = (endpoint.url, key)
        }
        let found = targets
        let outcomes = await withTaskGroup(of: (WebhookDelivery, Outcome)?.self) { group in
            for delivery in leased {
                group.addTask {
                    guard let target = found[delivery.endpointID] else { return nil }
                    return (delivery, await deliver(delivery, lease: lease, to: target.url, key: target.key))
                }
            }
            return await group.reduce(into: [(WebhookDelivery, Outcome)]()) {
                if let outcome = $1 { $0.append(outcome) }
            }
        }
        let delivered = outcomes.filter { $0.1 == .delivered }.map(\.0)
        dead += outcomes.filter { $0.1 == .dead }.map(\.0)
        // Marked together, in one transaction: one commit per round, not one per delivery.
        do {
            let date = now()
            let finished = try await webhooks.finishWebhookDeliveries(ids: delivered.map(\.id), lease: lease, at: date)
            for delivery in delivered where finished.contains(delivery.id) {
                metrics.webhookDelivered(delivery.event.occurredAt.distance(to: date))
            }
        } catch {
            // The lease runs out and the deliveries are sent again: at least once.
            logger.warning("webhook deliveries not marked", metadata: ["error": "\(type(of: error))"])
        }
        // After the round's successes are marked, so an endpoint that answered is not taken for silent.
        for delivery in dead {
            do {
                try await disableIfSilent(delivery, since: now())
            } catch {
                logger.warning("webhook endpoint's silence not checked", metadata: ["error": "\(type(of: error))"])
            }
        }
        return leased.count
    }

    /// Whether the endpoint took the delivery; a failure is recorded here.
    private func deliver(_ delivery: WebhookDelivery, lease: UUID, to url: String, key: SymmetricKey) async -> Outcome {
        let event = delivery.event
        let timestamp = Int64(now().timeIntervalSince1970)
        let headers = [
            ("Content-Type", "application/json"), ("User-Agent", "QSPP-Webhooks/1"), ("webhook-id", event.id),
            ("webhook-timestamp", String(timestamp)),
            (
                "webhook-signature",
                StandardWebhookSignature.header(key: key, id: event.id, timestamp: timestamp, body: event.body)
            ),
            ("webhook-signature-jws", event.signature),
        ]
        let failure: DeliveryFailure
        do {
            let status = try await transport.post(event.body, headers: headers, to: url)
            if (200..<300).contains(status) { return .delivered }
            failure = DeliveryFailure("the endpoint answered \(status)", permanent: false)
        } catch {
            failure = error
        }
        return await fail(delivery, lease: lease, failure)
    }

    /// Records a failed attempt, to be tried again after the policy's backoff or kept as dead.
    private func fail(_ delivery: WebhookDelivery, lease: UUID, _ failure: DeliveryFailure) async -> Outcome {
        let metadata: Logger.Metadata = [
            "endpoint": "\(delivery.endpointID)", "event": "\(delivery.event.id)", "attempt": "\(delivery.attempts)",
            "error": "\(failure.reason)",
        ]
        let date = now()
        let retryAt = policy.retryAt(
            after: delivery.attempts, permanent: failure.permanent, now: date, unit: Double.random(in: 0..<1))
        do {
            _ = try await webhooks.failWebhookDelivery(
                id: delivery.id, lease: lease, error: failure.reason, retryAt: retryAt, at: date)
            metrics.webhookFailed(dead: retryAt == nil)
            guard retryAt == nil else {
                logger.info("webhook not delivered; it will be tried again", metadata: metadata)
                return .retried
            }
            logger.warning("webhook delivery is dead: no more attempts", metadata: metadata)
            return .dead
        } catch {
            // The lease runs out on its own, and the delivery is leased again then.
            logger.warning("webhook delivery's failure not recorded", metadata: ["error": "\(type(of: error))"])
            return .retried
        }
    }

    /// Disables the endpoint when nothing reached it since the dead delivery was queued: it failed
    /// through the whole retry schedule, and later deliveries would only pile up behind it.
    private func disableIfSilent(_ delivery: WebhookDelivery, since date: Date) async throws {
        if let success = try await webhooks.lastWebhookSuccess(endpointID: delivery.endpointID),
            success >= delivery.event.occurredAt
        {
            return
        }
        guard let endpoint = try await webhooks.webhookEndpoint(id: delivery.endpointID), endpoint.disabledAt == nil
        else { return }
        let reason = "no delivery succeeded through a whole retry schedule"
        guard try await webhooks.setWebhookEndpointDisabled(id: endpoint.id, at: date, reason: reason) else { return }
        logger.error("webhook endpoint disabled", metadata: ["endpoint": "\(endpoint.id)"])
        try await identity.recordSystemChange(
            .webhookDisabled, details: ["endpoint": endpoint.id.lowercasedString, "reason": reason],
            telling: endpoint.createdBy, template: .webhookDisabled,
            values: ["url": endpoint.url, "reason": reason, "time": RFC3339.string(from: date)],
            linking: "/v1/admin/webhooks/\(endpoint.id.lowercasedString)/deliveries?state=dead")
    }
}
