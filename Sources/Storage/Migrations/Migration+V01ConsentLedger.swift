extension Migration {
    /// The consent ledger, the first schema: purposes with their versioned notices, every decision in a
    /// history no one may rewrite, and the keys that let a retried write apply once.
    static let v01ConsentLedger = Version(
        number: 1, name: "consent_ledger",
        postgres: [
            """
            CREATE TABLE purposes (
                id TEXT PRIMARY KEY,
                title TEXT NOT NULL,
                description TEXT NOT NULL,
                sale_or_sharing BOOLEAN NOT NULL,
                created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
                updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
            )
            """,
            """
            CREATE TABLE purpose_notices (
                purpose_id TEXT NOT NULL REFERENCES purposes (id),
                version INTEGER NOT NULL CHECK (version > 0),
                text TEXT,
                url TEXT,
                effective_at TIMESTAMPTZ NOT NULL,
                PRIMARY KEY (purpose_id, version),
                CHECK (text IS NOT NULL OR url IS NOT NULL)
            )
            """,
            """
            CREATE TABLE consent_events (
                seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                id UUID NOT NULL UNIQUE,
                subject_id TEXT NOT NULL,
                purpose_id TEXT NOT NULL,
                decision TEXT NOT NULL CHECK (decision IN ('granted', 'withdrawn')),
                notice_version INTEGER NOT NULL,
                method TEXT NOT NULL CHECK (method IN ('explicit', 'gpc', 'api', 'import')),
                source_ip TEXT,
                user_agent TEXT,
                recorded_at TIMESTAMPTZ NOT NULL,
                client_timestamp TIMESTAMPTZ,
                FOREIGN KEY (purpose_id, notice_version) REFERENCES purpose_notices (purpose_id, version)
            )
            """,
            "CREATE INDEX consent_events_subject_history ON consent_events (subject_id, seq DESC)",
            "CREATE INDEX consent_events_subject_purpose ON consent_events (subject_id, purpose_id, seq DESC)",
            """
            CREATE FUNCTION consent_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'consent_events is append-only';
            END
            $$
            """,
            """
            CREATE TRIGGER consent_events_append_only BEFORE UPDATE OR DELETE ON consent_events
            FOR EACH ROW EXECUTE FUNCTION consent_events_append_only()
            """,
            """
            CREATE TABLE idempotency_keys (
                scope TEXT NOT NULL,
                key TEXT NOT NULL,
                fingerprint TEXT NOT NULL,
                event_ids TEXT NOT NULL,
                created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
                PRIMARY KEY (scope, key)
            )
            """,
        ],
        sqlite: [
            """
            CREATE TABLE purposes (
                id TEXT PRIMARY KEY,
                title TEXT NOT NULL,
                description TEXT NOT NULL,
                sale_or_sharing INTEGER NOT NULL CHECK (sale_or_sharing IN (0, 1)),
                created_at INTEGER NOT NULL DEFAULT (CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)),
                updated_at INTEGER NOT NULL DEFAULT (CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER))
            ) STRICT
            """,
            """
            CREATE TABLE purpose_notices (
                purpose_id TEXT NOT NULL REFERENCES purposes (id),
                version INTEGER NOT NULL CHECK (version > 0),
                text TEXT,
                url TEXT,
                effective_at INTEGER NOT NULL,
                PRIMARY KEY (purpose_id, version),
                CHECK (text IS NOT NULL OR url IS NOT NULL)
            ) STRICT
            """,
            """
            CREATE TABLE consent_events (
                seq INTEGER PRIMARY KEY AUTOINCREMENT,
                id TEXT NOT NULL UNIQUE,
                subject_id TEXT NOT NULL,
                purpose_id TEXT NOT NULL,
                decision TEXT NOT NULL CHECK (decision IN ('granted', 'withdrawn')),
                notice_version INTEGER NOT NULL,
                method TEXT NOT NULL CHECK (method IN ('explicit', 'gpc', 'api', 'import')),
                source_ip TEXT,
                user_agent TEXT,
                recorded_at INTEGER NOT NULL,
                client_timestamp INTEGER,
                FOREIGN KEY (purpose_id, notice_version) REFERENCES purpose_notices (purpose_id, version)
            ) STRICT
            """,
            "CREATE INDEX consent_events_subject_history ON consent_events (subject_id, seq DESC)",
            "CREATE INDEX consent_events_subject_purpose ON consent_events (subject_id, purpose_id, seq DESC)",
            """
            CREATE TRIGGER consent_events_no_update BEFORE UPDATE ON consent_events
            BEGIN SELECT RAISE(ABORT, 'consent_events is append-only'); END
            """,
            """
            CREATE TRIGGER consent_events_no_delete BEFORE DELETE ON consent_events
            BEGIN SELECT RAISE(ABORT, 'consent_events is append-only'); END
            """,
            """
            CREATE TABLE idempotency_keys (
                scope TEXT NOT NULL,
                key TEXT NOT NULL,
                fingerprint TEXT NOT NULL,
                event_ids TEXT NOT NULL,
                created_at INTEGER NOT NULL DEFAULT (CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)),
                PRIMARY KEY (scope, key)
            ) STRICT
            """,
        ])
}
