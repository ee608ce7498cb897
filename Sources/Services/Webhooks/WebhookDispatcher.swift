import Crypto
import Foundation
import Identity
import Kernel
import Outbox
import PQCrypto
import Privacy

/// Turns new ledger entries into deliveries, one per endpoint that wants each event. The ledger is the
/// outbox: its entries are written in their changes' transactions, in commit order, so what a round
/// reads after the cursor is every change committed since, and only those. A round that loses the
/// race to move the cursor writes nothing; the replica that won has dispatched the same entries.
struct WebhookDispatcher: Sendable {
    let webhooks: any WebhookRepository
    let ledger: any LedgerRepository
    let source: WebhookEventSource
    let ring: SigningKeyRing
    let issuer: String
    let now: @Sendable () -> Date
    static let batchSize = 256
    /// Deliveries queued per round at most: with many endpoints, a round stops early and moves the
    /// cursor only past the entries it dispatched whole.
    static let deliveriesPerRound = 2000

    /// What the ML-DSA (or the configured algorithm's) signature states: the event's id and type, and
    /// the SHA-256 of the exact body sent.
    struct Statement: Codable, Sendable {
        let iss: String
        let id: String
        let type: String
        let bodySHA256: String
        let iat: Int64

        enum CodingKeys: String, CodingKey {
            case iss, id, type, iat
            case bodySHA256 = "body_sha256"
        }
    }

    private struct Payload: Encodable {
        let type: String
        let timestamp: String
        let data: [String: WebhookEventSource.Value]
    }

    static let signatureType = "webhook+jwt"

    /// Dispatches the entries after the cursor; returns how many it read.
    @discardableResult
    func dispatchDue() async throws -> Int {
        let cursor = try await webhooks.webhookCursor()
        let entries = try await ledger.ledgerEntries(after: cursor, limit: Self.batchSize)
        guard let last = entries.last?.sequence else { return 0 }
        // Endpoints that are disabled still get their deliveries, to be sent once they are enabled.
        let endpoints = try await webhooks.webhookEndpoints()
        var deliveries: [WebhookDelivery] = []
        var dispatched = last
        if !endpoints.isEmpty {
            let date = now()
            for entry in entries {
                guard deliveries.count < Self.deliveriesPerRound else { break }
                dispatched = entry.sequence
                guard let described = try await source.describe(entry) else { continue }
                let targets = endpoints.filter { endpoint in
                    described.endpoint.map { $0 == endpoint.id }
                        ?? endpoint.wants(described.kind, purpose: described.purpose)
                }
                guard !targets.isEmpty else { continue }
                let event = try await signed(described, sequence: entry.sequence, at: date)
                deliveries += targets.map {
                    WebhookDelivery(
                        id: UUID(), endpointID: $0.id, event: event, state: .pending, attempts: 0, nextAttemptAt: date)
                }
            }
        }
        _ = try await webhooks.dispatch(from: cursor, to: dispatched, deliveries: deliveries)
        return dispatched == last ? entries.count : Self.batchSize
    }

    private func signed(
        _ described: WebhookEventSource.Described, sequence: Int64, at date: Date
    ) async throws
        -> WebhookEvent
    {
        let id = "evt_\(sequence)"
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let body = try encoder.encode(
            Payload(
                type: described.kind.rawValue, timestamp: RFC3339.string(from: described.occurredAt),
                data: described.data))
        let signature = try await ring.signDocument(
            Statement(
                iss: issuer, id: id, type: described.kind.rawValue,
                bodySHA256: Base64URL.encode(Data(SHA256.hash(data: body))), iat: Int64(date.timeIntervalSince1970)),
            type: Self.signatureType)
        return WebhookEvent(
            id: id, kind: described.kind, orderingKey: described.orderingKey, purpose: described.purpose,
            occurredAt: described.occurredAt, body: body, signature: signature)
    }
}
