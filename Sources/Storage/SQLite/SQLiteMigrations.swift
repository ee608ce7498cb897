extension Migration {
    /// Timestamps are INTEGER microseconds since 1970; UUIDs are lower-case TEXT.
    static let sqlite: [Migration] = [
        Migration(
            version: 1, name: "consent_ledger",
            statements: [
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
            ]),
        Migration(
            version: 2, name: "seed_purposes",
            statements: {
                let rows = Migration.seedPurposeRows(
                    now: "CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)")
                return [
                    "INSERT INTO purposes (id, title, description, sale_or_sharing) VALUES \(rows.purposes)",
                    "INSERT INTO purpose_notices (purpose_id, version, text, effective_at) VALUES \(rows.notices)",
                ]
            }()),
        Migration.identity(
            integer: "INTEGER", blob: "BLOB", serial: "INTEGER PRIMARY KEY AUTOINCREMENT", strict: " STRICT"),
        Migration(
            version: 4, name: "auth_events_append_only",
            statements: [
                """
                CREATE TRIGGER auth_events_no_update BEFORE UPDATE ON auth_events
                BEGIN SELECT RAISE(ABORT, 'auth_events is append-only'); END
                """,
                """
                CREATE TRIGGER auth_events_no_delete BEFORE DELETE ON auth_events
                BEGIN SELECT RAISE(ABORT, 'auth_events is append-only'); END
                """,
            ]),
        Migration.privacy(integer: "INTEGER", serial: "INTEGER PRIMARY KEY AUTOINCREMENT", strict: " STRICT"),
        Migration.ledger(
            integer: "INTEGER", blob: "BLOB", zeroHash: "zeroblob(32)", strict: " STRICT",
            appendOnly: ["ledger_entries", "ledger_checkpoints"].flatMap { table in
                ["UPDATE", "DELETE"].map { change in
                    """
                    CREATE TRIGGER \(table)_no_\(change.lowercased()) BEFORE \(change) ON \(table)
                    BEGIN SELECT RAISE(ABORT, '\(table) is append-only'); END
                    """
                }
            }),
        Migration.personalData(integer: "INTEGER", blob: "BLOB", strict: " STRICT"),
        Migration.rights(integer: "INTEGER", strict: " STRICT"),
        Migration(
            version: 9, name: "retention",
            statements: [
                // The retention job, and only inside its own transaction, may delete old audit rows.
                "CREATE TABLE retention_purge (active INTEGER NOT NULL) STRICT",
                "DROP TRIGGER auth_events_no_delete",
                """
                CREATE TRIGGER auth_events_no_delete BEFORE DELETE ON auth_events
                WHEN NOT EXISTS (SELECT 1 FROM retention_purge)
                BEGIN SELECT RAISE(ABORT, 'auth_events is append-only'); END
                """,
            ]),
        Migration.valuation(integer: "INTEGER", strict: " STRICT"),
    ]
}
