public import Foundation

/// Durable storage for webhook endpoints and their deliveries. Implemented for SQLite and PostgreSQL
/// in `Storage`.
///
/// The outbox is the ledger: every change a webhook reports is a ledger entry written in the change's
/// own transaction, and the ledger's order is its commit order. ``dispatch(from:to:deliveries:)`` turns
/// entries into deliveries and moves the cursor in one transaction, so each entry is dispatched once,
/// and a write that rolled back has no entry to dispatch.
public protocol WebhookRepository: Sendable {
    func insertWebhookEndpoint(_ endpoint: WebhookEndpoint, sealedSecret: Data) async throws
    func webhookEndpoints() async throws -> [WebhookEndpoint]
    func webhookEndpoint(id: UUID) async throws -> WebhookEndpoint?
    /// The sealed secret of a live endpoint.
    func webhookSecret(endpointID: UUID) async throws -> Data?
    func replaceWebhookSecret(endpointID: UUID, sealedSecret: Data) async throws -> Bool
    /// Stops (a date) or resumes (nil) deliveries to the endpoint.
    func setWebhookEndpointDisabled(id: UUID, at date: Date?, reason: String?) async throws -> Bool
    /// Deletes the endpoint and every delivery it had.
    func deleteWebhookEndpoint(id: UUID) async throws -> Bool

    /// The last ledger sequence dispatched.
    func webhookCursor() async throws -> Int64
    /// Queues `deliveries` and moves the cursor from `from` to `to`, atomically; false, with nothing
    /// written, when another replica moved it first.
    func dispatch(from: Int64, to: Int64, deliveries: [WebhookDelivery]) async throws -> Bool

    /// Leases up to `limit` due deliveries to live endpoints, each the oldest pending one of its
    /// endpoint and ordering key, counting an attempt on each. Replicas leasing at once get disjoint
    /// deliveries, and never two of one endpoint and key.
    func leaseWebhookDeliveries(
        limit: Int, now: Date, for duration: TimeInterval, lease: UUID
    ) async throws
        -> [WebhookDelivery]
    /// Marks leased deliveries delivered, and their endpoints as answering, in one transaction;
    /// returns those that were still under this lease.
    func finishWebhookDeliveries(ids: [UUID], lease: UUID, at date: Date) async throws -> Set<UUID>
    /// Records a failed attempt: to be tried at `retryAt`, or dead when it is nil.
    func failWebhookDelivery(
        id: UUID, lease: UUID, error: String, retryAt: Date?, at date: Date
    ) async throws
        -> Bool
    /// When the endpoint last had a delivery, if ever.
    func lastWebhookSuccess(endpointID: UUID) async throws -> Date?

    /// An endpoint's deliveries, newest first, in one state or all.
    func webhookDeliveries(
        endpointID: UUID, state: WebhookDelivery.State?, limit: Int
    ) async throws
        -> [WebhookDelivery]
    /// Queues a dead delivery again, attempts reset; false when it is not dead.
    func replayWebhookDelivery(id: UUID, endpointID: UUID, now: Date) async throws -> Bool
    /// Forgets delivered deliveries older than `date`.
    func purgeWebhookDeliveries(deliveredBefore date: Date) async throws -> Int
}
