import Foundation
import Kernel
import Outbox
import Privacy
import QSPPTestSupport
import Storage
import Testing

@testable import Storage

/// Webhook endpoints and deliveries, alike on SQLite and PostgreSQL: the cursor moves once per batch,
/// a rolled-back change has nothing to dispatch, each subject's deliveries to an endpoint are leased
/// one at a time in order, dead ones stop blocking and can be replayed, and paused endpoints wait.
@Suite("Webhook repository conformance")
struct WebhookRepositoryConformanceTests {
    static func endpoint(kinds: Set<WebhookEventKind> = [.consentGranted]) -> WebhookEndpoint {
        WebhookEndpoint(
            id: UUID(), url: "https://hooks.example/\(UUID().uuidString)", description: "CRM", kinds: kinds,
            purposes: ["marketing"], createdBy: UUID(), createdAt: Date().roundedToMicroseconds)
    }

    static func delivery(
        to endpoint: UUID, sequence: Int64, subject: String, at date: Date = Date()
    )
        -> WebhookDelivery
    {
        let event = WebhookEvent(
            id: "evt_\(sequence)", kind: .consentGranted, orderingKey: subject, purpose: "marketing",
            occurredAt: date.roundedToMicroseconds, body: Data(#"{"type":"consent.granted"}"#.utf8), signature: "a.b.c")
        return WebhookDelivery(
            id: UUID(), endpointID: endpoint, event: event, state: .pending, attempts: 0,
            nextAttemptAt: date.roundedToMicroseconds)
    }

    @Test(arguments: Backend.all)
    func endpointsAreStoredAndChanged(backend: Backend) async throws {
        try await withIsolatedStore(backend) { store in
            let webhooks = store.webhooks
            let endpoint = Self.endpoint(kinds: [.consentGranted, .subjectErased])
            try await webhooks.insertWebhookEndpoint(endpoint, sealedSecret: Data([1, 2, 3]))
            #expect(try await webhooks.webhookEndpoint(id: endpoint.id) == endpoint)
            #expect(try await webhooks.webhookEndpoints() == [endpoint])
            #expect(try await webhooks.webhookSecret(endpointID: endpoint.id) == Data([1, 2, 3]))
            #expect(try await webhooks.replaceWebhookSecret(endpointID: endpoint.id, sealedSecret: Data([4])))
            #expect(try await webhooks.webhookSecret(endpointID: endpoint.id) == Data([4]))
            let paused = Date().roundedToMicroseconds
            #expect(try await webhooks.setWebhookEndpointDisabled(id: endpoint.id, at: paused, reason: "why"))
            let stored = try #require(try await webhooks.webhookEndpoint(id: endpoint.id))
            #expect(stored.disabledAt == paused && stored.disabledReason == "why")
            #expect(try await webhooks.deleteWebhookEndpoint(id: endpoint.id))
            #expect(try await webhooks.webhookEndpoint(id: endpoint.id) == nil)
            #expect(try await !webhooks.deleteWebhookEndpoint(id: endpoint.id))
            #expect(try await !webhooks.replaceWebhookSecret(endpointID: endpoint.id, sealedSecret: Data([5])))
        }
    }

    @Test(arguments: Backend.all)
    func theCursorMovesOnceAndARolledBackChangeLeavesNothing(backend: Backend) async throws {
        try await withIsolatedStore(backend) { store in
            let webhooks = store.webhooks
            let start = try await webhooks.webhookCursor()
            #expect(start == (try await store.ledger.ledgerHead()).size, "an endpoint hears of changes from now on")

            // A change whose transaction rolls back, ledger entry and all, is not in the ledger to dispatch.
            await #expect(throws: (any Error).self) {
                try await store.sql.transaction { tx in
                    _ = try await tx.appendLedger([LedgerRecord(type: "consent", id: "rolled-back", fields: [:])])
                    throw CancellationError()
                }
            }
            #expect(try await store.ledger.ledgerEntries(after: start, limit: 10).isEmpty)

            let endpoint = Self.endpoint()
            try await webhooks.insertWebhookEndpoint(endpoint, sealedSecret: Data([1]))
            let first = Self.delivery(to: endpoint.id, sequence: start + 1, subject: "ana")
            #expect(try await webhooks.dispatch(from: start, to: start + 1, deliveries: [first]))
            // A replica that read the same batch loses the race and writes nothing.
            let copy = Self.delivery(to: endpoint.id, sequence: start + 1, subject: "ana")
            #expect(try await !webhooks.dispatch(from: start, to: start + 1, deliveries: [copy]))
            #expect(try await webhooks.webhookCursor() == start + 1)
            let queued = try await webhooks.webhookDeliveries(endpointID: endpoint.id, state: nil, limit: 10)
            #expect(queued.map(\.id) == [first.id])
            #expect(queued.first?.event == first.event)
        }
    }

    @Test(arguments: Backend.all)
    func eachSubjectIsLeasedInOrderOneAtATime(backend: Backend) async throws {
        try await withIsolatedStore(backend) { store in
            let webhooks = store.webhooks
            let endpoint = Self.endpoint()
            try await webhooks.insertWebhookEndpoint(endpoint, sealedSecret: Data([1]))
            let start = try await webhooks.webhookCursor()
            let now = Date()
            let queued = [
                Self.delivery(to: endpoint.id, sequence: start + 1, subject: "ana", at: now),
                Self.delivery(to: endpoint.id, sequence: start + 2, subject: "ben", at: now),
                Self.delivery(to: endpoint.id, sequence: start + 3, subject: "ana", at: now),
            ]
            #expect(try await webhooks.dispatch(from: start, to: start + 3, deliveries: queued))

            let lease = UUID()
            let first = try await webhooks.leaseWebhookDeliveries(limit: 10, now: now, for: 30, lease: lease)
            #expect(first.map(\.id) == [queued[0].id, queued[1].id], "ana's second waits for her first")
            #expect(first.allSatisfy { $0.attempts == 1 && $0.lease == lease })
            #expect(try await webhooks.leaseWebhookDeliveries(limit: 10, now: now, for: 30, lease: UUID()).isEmpty)

            // Outcomes need the lease.
            #expect(try await webhooks.finishWebhookDeliveries(ids: [queued[0].id], lease: UUID(), at: now).isEmpty)
            #expect(
                try await webhooks.finishWebhookDeliveries(ids: [queued[0].id, queued[2].id], lease: lease, at: now)
                    == [queued[0].id], "only what the lease holds")
            #expect(try await webhooks.finishWebhookDeliveries(ids: [], lease: lease, at: now).isEmpty)
            #expect(try await webhooks.lastWebhookSuccess(endpointID: endpoint.id) == now.roundedToMicroseconds)
            let next = try await webhooks.leaseWebhookDeliveries(limit: 10, now: now, for: 30, lease: UUID())
            #expect(next.map(\.id) == [queued[2].id])

            // A failure waits for its retry time, and holds the subject's later deliveries back meanwhile.
            let later = now.addingTimeInterval(60)
            #expect(
                try await webhooks.failWebhookDelivery(
                    id: queued[1].id, lease: lease, error: "answered 500", retryAt: later, at: now))
            #expect(try await webhooks.leaseWebhookDeliveries(limit: 10, now: now, for: 30, lease: UUID()).isEmpty)
            let retried = try await webhooks.leaseWebhookDeliveries(
                limit: 10, now: later.addingTimeInterval(1), for: 30, lease: UUID())
            #expect(Set(retried.map(\.id)) == [queued[1].id, queued[2].id], "leases run out")
            #expect(retried.first { $0.id == queued[1].id }?.attempts == 2)
        }
    }

    @Test(arguments: Backend.all)
    func deadDeliveriesStopBlockingAndCanBeReplayed(backend: Backend) async throws {
        try await withIsolatedStore(backend) { store in
            let webhooks = store.webhooks
            let endpoint = Self.endpoint()
            try await webhooks.insertWebhookEndpoint(endpoint, sealedSecret: Data([1]))
            let start = try await webhooks.webhookCursor()
            let now = Date()
            let queued = (1...2).map { Self.delivery(to: endpoint.id, sequence: start + $0, subject: "ana", at: now) }
            #expect(try await webhooks.dispatch(from: start, to: start + 2, deliveries: queued))
            let lease = UUID()
            _ = try await webhooks.leaseWebhookDeliveries(limit: 10, now: now, for: 30, lease: lease)
            #expect(
                try await webhooks.failWebhookDelivery(
                    id: queued[0].id, lease: lease, error: "gone", retryAt: nil, at: now))
            let dead = try await webhooks.webhookDeliveries(endpointID: endpoint.id, state: .dead, limit: 10)
            #expect(dead.map(\.id) == [queued[0].id] && dead.first?.lastError == "gone")
            let after = try await webhooks.leaseWebhookDeliveries(limit: 10, now: now, for: 30, lease: lease)
            #expect(after.map(\.id) == [queued[1].id], "a dead delivery no longer holds its subject back")

            // A replay goes before the subject's later pending deliveries.
            #expect(try await !webhooks.replayWebhookDelivery(id: queued[1].id, endpointID: endpoint.id, now: now))
            #expect(try await !webhooks.replayWebhookDelivery(id: queued[0].id, endpointID: UUID(), now: now))
            #expect(
                try await webhooks.failWebhookDelivery(
                    id: queued[1].id, lease: lease, error: "x", retryAt: now, at: now))
            #expect(try await webhooks.replayWebhookDelivery(id: queued[0].id, endpointID: endpoint.id, now: now))
            let replayed = try await webhooks.leaseWebhookDeliveries(limit: 10, now: now, for: 30, lease: UUID())
            #expect(replayed.map(\.id) == [queued[0].id] && replayed.first?.attempts == 1)
        }
    }

    @Test(arguments: Backend.all)
    func pausedEndpointsWaitAndDeliveredOnesArePurged(backend: Backend) async throws {
        try await withIsolatedStore(backend) { store in
            let webhooks = store.webhooks
            let endpoint = Self.endpoint()
            try await webhooks.insertWebhookEndpoint(endpoint, sealedSecret: Data([1]))
            let start = try await webhooks.webhookCursor()
            let now = Date()
            let queued = Self.delivery(to: endpoint.id, sequence: start + 1, subject: "ana", at: now)
            #expect(try await webhooks.dispatch(from: start, to: start + 1, deliveries: [queued]))
            #expect(try await webhooks.setWebhookEndpointDisabled(id: endpoint.id, at: now, reason: "paused"))
            #expect(try await webhooks.leaseWebhookDeliveries(limit: 10, now: now, for: 30, lease: UUID()).isEmpty)
            #expect(try await webhooks.setWebhookEndpointDisabled(id: endpoint.id, at: nil, reason: nil))
            let lease = UUID()
            #expect(try await webhooks.leaseWebhookDeliveries(limit: 10, now: now, for: 30, lease: lease).count == 1)
            #expect(try await webhooks.finishWebhookDeliveries(ids: [queued.id], lease: lease, at: now) == [queued.id])
            #expect(try await webhooks.purgeWebhookDeliveries(deliveredBefore: now) == 0)
            #expect(try await webhooks.purgeWebhookDeliveries(deliveredBefore: now.addingTimeInterval(1)) == 1)

            // Deleting an endpoint deletes its queue.
            let other = Self.delivery(to: endpoint.id, sequence: start + 2, subject: "ben", at: now)
            #expect(try await webhooks.dispatch(from: start + 1, to: start + 2, deliveries: [other]))
            #expect(try await webhooks.deleteWebhookEndpoint(id: endpoint.id))
            #expect(try await store.sqlRows("SELECT id FROM webhook_deliveries").isEmpty)
        }
    }
}
