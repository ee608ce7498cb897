extension Migration {
    /// Webhooks: the endpoints administrators registered, the cursor of the ledger entries already
    /// dispatched to them (starting at the ledger's head: an endpoint hears of changes after it was
    /// set up, not of history), and each event's delivery to each endpoint, kept as its log.
    static let v24Webhooks = Version(number: 24, name: "webhooks") { dialect in
        [
            """
            CREATE TABLE webhook_endpoints (
                id TEXT PRIMARY KEY,
                url TEXT NOT NULL,
                description TEXT NOT NULL,
                kinds TEXT NOT NULL,
                purposes TEXT NOT NULL,
                sealed_secret \(dialect.blob) NOT NULL,
                created_by TEXT NOT NULL,
                created_at \(dialect.integer) NOT NULL,
                disabled_at \(dialect.integer),
                disabled_reason TEXT,
                last_success_at \(dialect.integer)
            )\(dialect.strict)
            """,
            """
            CREATE TABLE webhook_cursor (
                id \(dialect.integer) PRIMARY KEY CHECK (id = 1),
                position \(dialect.integer) NOT NULL
            )\(dialect.strict)
            """,
            "INSERT INTO webhook_cursor (id, position) SELECT 1, size FROM ledger_head WHERE id = 1",
            """
            CREATE TABLE webhook_deliveries (
                id TEXT PRIMARY KEY,
                endpoint_id TEXT NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
                event_id TEXT NOT NULL,
                event_seq \(dialect.integer) NOT NULL,
                kind TEXT NOT NULL,
                ordering_key TEXT NOT NULL,
                purpose TEXT,
                occurred_at \(dialect.integer) NOT NULL,
                body \(dialect.blob) NOT NULL,
                signature TEXT NOT NULL,
                state TEXT NOT NULL DEFAULT 'pending',
                attempts \(dialect.integer) NOT NULL DEFAULT 0,
                next_attempt_at \(dialect.integer) NOT NULL,
                lease TEXT,
                leased_until \(dialect.integer),
                last_error TEXT,
                delivered_at \(dialect.integer),
                created_at \(dialect.integer) NOT NULL,
                UNIQUE (endpoint_id, event_seq)
            )\(dialect.strict)
            """,
            """
            CREATE INDEX webhook_deliveries_order ON webhook_deliveries (endpoint_id, ordering_key, event_seq)
            WHERE state = 'pending'
            """,
            "CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_attempt_at)",
            "CREATE INDEX webhook_deliveries_log ON webhook_deliveries (endpoint_id, event_seq)",
        ]
    }
}
