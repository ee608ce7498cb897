import Foundation
import Kernel
import Outbox

/// Webhook endpoints and deliveries on either backend.
struct SQLWebhookRepository: WebhookRepository {
    let database: any SQLDatabase

    static let rowsPerInsert = 100

    private static let endpointColumns =
        "id, url, description, kinds, purposes, created_by, created_at, disabled_at, disabled_reason"

    func insertWebhookEndpoint(_ endpoint: WebhookEndpoint, sealedSecret: Data) async throws {
        _ = try await database.write(
            """
            INSERT INTO webhook_endpoints (id, url, description, kinds, purposes, sealed_secret, created_by, created_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
            """,
            [
                .uuid(endpoint.id), .text(endpoint.url), .text(endpoint.description),
                .text(endpoint.kinds.sorted().map(\.rawValue).joined(separator: " ")),
                .text(endpoint.purposes.sorted().joined(separator: " ")), .blob(sealedSecret),
                .uuid(endpoint.createdBy), .time(endpoint.createdAt),
            ])
    }

    func webhookEndpoints() async throws -> [WebhookEndpoint] {
        try await database.select(
            "SELECT \(Self.endpointColumns) FROM webhook_endpoints ORDER BY created_at, id", []
        ).map(Self.endpoint)
    }

    func webhookEndpoint(id: UUID) async throws -> WebhookEndpoint? {
        try await database.select(
            "SELECT \(Self.endpointColumns) FROM webhook_endpoints WHERE id = $1", [.uuid(id)]
        ).first.map(Self.endpoint)
    }

    func webhookSecret(endpointID: UUID) async throws -> Data? {
        try await database.select(
            "SELECT sealed_secret FROM webhook_endpoints WHERE id = $1", [.uuid(endpointID)]
        ).first?[0].blob
    }

    func replaceWebhookSecret(endpointID: UUID, sealedSecret: Data) async throws -> Bool {
        try await !database.write(
            "UPDATE webhook_endpoints SET sealed_secret = $2 WHERE id = $1 RETURNING id",
            [.uuid(endpointID), .blob(sealedSecret)]
        ).isEmpty
    }

    func setWebhookEndpointDisabled(id: UUID, at date: Date?, reason: String?) async throws -> Bool {
        try await !database.write(
            "UPDATE webhook_endpoints SET disabled_at = $2, disabled_reason = $3 WHERE id = $1 RETURNING id",
            [.uuid(id), .optionalTime(date), .optional(reason)]
        ).isEmpty
    }

    func deleteWebhookEndpoint(id: UUID) async throws -> Bool {
        try await !database.write("DELETE FROM webhook_endpoints WHERE id = $1 RETURNING id", [.uuid(id)]).isEmpty
    }

    func webhookCursor() async throws -> Int64 {
        guard let row = try await database.select("SELECT position FROM webhook_cursor WHERE id = 1", []).first
        else { throw StorageError.corrupted("webhook cursor") }
        return try row.integer(0)
    }

    func dispatch(from: Int64, to: Int64, deliveries: [WebhookDelivery]) async throws -> Bool {
        try await database.transaction { tx in
            let moved = try await tx.query(
                "UPDATE webhook_cursor SET position = $2 WHERE id = 1 AND position = $1 RETURNING id",
                [.integer(from), .integer(to)])
            guard !moved.isEmpty else { return false }
            // Many rows a statement: one round trip per hundred deliveries keeps a large batch well
            // inside the database deadline.
            for first in stride(from: 0, to: deliveries.count, by: Self.rowsPerInsert) {
                let rows = deliveries[first..<min(first + Self.rowsPerInsert, deliveries.count)]
                var binds: [SQLValue] = []
                var tuples: [String] = []
                for delivery in rows {
                    let base = binds.count
                    tuples.append("(" + (1...12).map { "$\(base + $0)" }.joined(separator: ", ") + ")")
                    let event = delivery.event
                    binds += [
                        .uuid(delivery.id), .uuid(delivery.endpointID), .text(event.id),
                        .integer(Self.sequence(of: event)), .text(event.kind.rawValue), .text(event.orderingKey),
                        .optional(event.purpose), .time(event.occurredAt), .blob(event.body), .text(event.signature),
                        .time(delivery.nextAttemptAt), .time(delivery.nextAttemptAt),
                    ]
                }
                try await tx.execute(
                    """
                    INSERT INTO webhook_deliveries (id, endpoint_id, event_id, event_seq, kind, ordering_key, purpose,
                        occurred_at, body, signature, next_attempt_at, created_at)
                    VALUES \(tuples.joined(separator: ", "))
                    """, binds)
            }
            return true
        }
    }

    private static let deliveryColumns = """
        d.id, d.endpoint_id, d.event_id, d.kind, d.ordering_key, d.purpose, d.occurred_at, d.body, d.signature,
        d.state, d.attempts, d.next_attempt_at, d.last_error, d.delivered_at, d.lease, d.event_seq
        """

    func leaseWebhookDeliveries(
        limit: Int, now: Date, for duration: TimeInterval, lease: UUID
    ) async throws
        -> [WebhookDelivery]
    {
        // Due, to a live endpoint, and the oldest pending delivery of its endpoint and key.
        let eligible = """
            d.state = 'pending' AND d.next_attempt_at <= $1 AND (d.leased_until IS NULL OR d.leased_until <= $1)
                AND e.disabled_at IS NULL
                AND NOT EXISTS (
                    SELECT 1 FROM webhook_deliveries p
                    WHERE p.endpoint_id = d.endpoint_id AND p.ordering_key = d.ordering_key
                        AND p.state = 'pending' AND p.event_seq < d.event_seq)
            """
        let from = "FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id"
        // A read first: most rounds find nothing to lease, and a read takes no write lock.
        guard try await !database.select("SELECT 1 \(from) WHERE \(eligible) LIMIT 1", [.time(now)]).isEmpty
        else { return [] }
        // Replicas skip each other's locked rows on PostgreSQL; SQLite's writers take turns anyway. A
        // delivery waits while an earlier one of its endpoint and key is pending, leased or not.
        let lock = database.lockRowsClause.isEmpty ? "" : "FOR UPDATE OF d SKIP LOCKED"
        let rows = try await database.transaction { tx in
            try await tx.query(
                """
                UPDATE webhook_deliveries SET attempts = attempts + 1, leased_until = $2, lease = $3
                WHERE id IN (SELECT d.id \(from) WHERE \(eligible) ORDER BY d.event_seq LIMIT $4 \(lock))
                RETURNING \(Self.deliveryColumns.replacingOccurrences(of: "d.", with: ""))
                """,
                [.time(now), .time(now.addingTimeInterval(duration)), .uuid(lease), .integer(Int64(limit))])
        }
        // RETURNING follows no order.
        return try rows.sorted { ($0[15].integer ?? 0) < ($1[15].integer ?? 0) }.map(Self.delivery)
    }

    func finishWebhookDeliveries(ids: [UUID], lease: UUID, at date: Date) async throws -> Set<UUID> {
        guard !ids.isEmpty else { return [] }
        let placeholders = (3..<(ids.count + 3)).map { "$\($0)" }.joined(separator: ", ")
        return try await database.transaction { tx in
            let finished = try await tx.query(
                """
                UPDATE webhook_deliveries SET state = 'delivered', delivered_at = $2, leased_until = NULL, lease = NULL,
                    last_error = NULL
                WHERE id IN (\(placeholders)) AND lease = $1 AND state = 'pending' RETURNING id, endpoint_id
                """, [.uuid(lease), .time(date)] + ids.map { .uuid($0) })
            // One write per endpoint, not per delivery: the endpoint's row is every delivery's.
            for endpoint in Set(try finished.map { try $0.uuid(1) }).sorted(by: { $0.uuidString < $1.uuidString }) {
                try await tx.execute(
                    "UPDATE webhook_endpoints SET last_success_at = $2 WHERE id = $1", [.uuid(endpoint), .time(date)])
            }
            return Set(try finished.map { try $0.uuid(0) })
        }
    }

    func failWebhookDelivery(
        id: UUID, lease: UUID, error: String, retryAt: Date?, at date: Date
    ) async throws
        -> Bool
    {
        try await !database.write(
            """
            UPDATE webhook_deliveries
            SET state = $3, next_attempt_at = COALESCE($4, next_attempt_at), last_error = $5, leased_until = NULL,
                lease = NULL
            WHERE id = $1 AND lease = $2 AND state = 'pending' RETURNING id
            """,
            [
                .uuid(id), .uuid(lease), .text(retryAt == nil ? "dead" : "pending"), .optionalTime(retryAt),
                .text(String(error.prefix(500))),
            ]
        ).isEmpty
    }

    func lastWebhookSuccess(endpointID: UUID) async throws -> Date? {
        try await database.select(
            "SELECT last_success_at FROM webhook_endpoints WHERE id = $1", [.uuid(endpointID)]
        ).first?.optionalTime(0)
    }

    func webhookDeliveries(
        endpointID: UUID, state: WebhookDelivery.State?, limit: Int
    ) async throws
        -> [WebhookDelivery]
    {
        var binds: [SQLValue] = [.uuid(endpointID), .integer(Int64(limit))]
        var filter = ""
        if let state {
            filter = "AND d.state = $3"
            binds.append(.text(state.rawValue))
        }
        return try await database.select(
            """
            SELECT \(Self.deliveryColumns) FROM webhook_deliveries d WHERE d.endpoint_id = $1 \(filter)
            ORDER BY d.event_seq DESC LIMIT $2
            """, binds
        ).map(Self.delivery)
    }

    func replayWebhookDelivery(id: UUID, endpointID: UUID, now: Date) async throws -> Bool {
        try await !database.write(
            """
            UPDATE webhook_deliveries SET state = 'pending', attempts = 0, next_attempt_at = $3, last_error = NULL
            WHERE id = $1 AND endpoint_id = $2 AND state = 'dead' RETURNING id
            """, [.uuid(id), .uuid(endpointID), .time(now)]
        ).isEmpty
    }

    func purgeWebhookDeliveries(deliveredBefore date: Date) async throws -> Int {
        try await database.write(
            "DELETE FROM webhook_deliveries WHERE state = 'delivered' AND delivered_at < $1 RETURNING id",
            [.time(date)]
        ).count
    }

    /// `evt_` and the ledger sequence, as ``WebhookEvent/id`` is made.
    static func sequence(of event: WebhookEvent) -> Int64 { Int64(event.id.dropFirst(4)) ?? 0 }

    private static func endpoint(_ row: SQLRow) throws -> WebhookEndpoint {
        let kinds = try row.text(3).split(separator: " ").map { text in
            guard let kind = WebhookEventKind(rawValue: String(text)) else {
                throw StorageError.corrupted("webhook endpoint")
            }
            return kind
        }
        return WebhookEndpoint(
            id: try row.uuid(0), url: try row.text(1), description: try row.text(2), kinds: Set(kinds),
            purposes: Set(try row.text(4).split(separator: " ").map(String.init)), createdBy: try row.uuid(5),
            createdAt: try row.time(6), disabledAt: row.optionalTime(7), disabledReason: row[8].text)
    }

    private static func delivery(_ row: SQLRow) throws -> WebhookDelivery {
        guard let kind = WebhookEventKind(rawValue: try row.text(3)),
            let state = WebhookDelivery.State(rawValue: try row.text(9)),
            let body = row[7].bytes
        else { throw StorageError.corrupted("webhook delivery") }
        let event = WebhookEvent(
            id: try row.text(2), kind: kind, orderingKey: try row.text(4), purpose: row[5].text,
            occurredAt: try row.time(6), body: body, signature: try row.text(8))
        return WebhookDelivery(
            id: try row.uuid(0), endpointID: try row.uuid(1), event: event, state: state,
            attempts: Int(try row.integer(10)), nextAttemptAt: try row.time(11), lastError: row[12].text,
            deliveredAt: row.optionalTime(13), lease: row[14].text.flatMap(UUID.init(uuidString:)))
    }
}
