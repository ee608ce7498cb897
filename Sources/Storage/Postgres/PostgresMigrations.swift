extension Migration {
    static let postgres: [Migration] = [
        Migration(
            version: 1, name: "consent_ledger",
            statements: [
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
            ]),
        Migration(
            version: 2, name: "seed_purposes",
            statements: {
                let rows = Migration.seedPurposeRows(now: "now()")
                return [
                    "INSERT INTO purposes (id, title, description, sale_or_sharing) VALUES \(rows.purposes)",
                    "INSERT INTO purpose_notices (purpose_id, version, text, effective_at) VALUES \(rows.notices)",
                ]
            }()),
        Migration.identity(
            integer: "BIGINT", blob: "BYTEA", serial: "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY", strict: ""),
        Migration(
            version: 4, name: "auth_events_append_only",
            statements: [
                """
                CREATE FUNCTION auth_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    RAISE EXCEPTION 'auth_events is append-only';
                END
                $$
                """,
                """
                CREATE TRIGGER auth_events_append_only BEFORE UPDATE OR DELETE ON auth_events
                FOR EACH ROW EXECUTE FUNCTION auth_events_append_only()
                """,
            ]),
        Migration.privacy(integer: "BIGINT", serial: "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY", strict: ""),
        Migration.ledger(
            integer: "BIGINT", blob: "BYTEA", zeroHash: "'\\x\(String(repeating: "0", count: 64))'::bytea", strict: "",
            appendOnly: [
                // Links entries to the chain inside the database, in the statement that appends them, so the
                // head's lock is held only from that statement to the commit: one round trip, not one per
                // step. The hashes are the ones LedgerChain documents; the tests check both agree.
                """
                CREATE FUNCTION ledger_append(refs TEXT[], contents BYTEA[])
                RETURNS TABLE (entry_ord BIGINT, entry_seq BIGINT) LANGUAGE plpgsql AS $$
                DECLARE
                    head_size BIGINT;
                    head_hash BYTEA;
                    n INT := coalesce(array_length(contents, 1), 0);
                    content_hashes BYTEA[] := '{}';
                    prev_hashes BYTEA[] := '{}';
                    entry_hashes BYTEA[] := '{}';
                    domain BYTEA := convert_to('qspp-ledger-v1', 'UTF8');
                BEGIN
                    SELECT h.size, h.hash INTO head_size, head_hash FROM ledger_head h WHERE h.id = 1 FOR UPDATE;
                    FOR i IN 1 .. n LOOP
                        content_hashes[i] := sha256(contents[i]);
                        prev_hashes[i] := head_hash;
                        head_hash := sha256(domain || int8send(head_size + i) || head_hash || content_hashes[i]);
                        entry_hashes[i] := head_hash;
                    END LOOP;
                    INSERT INTO ledger_entries (seq, reference, content, content_hash, prev_hash, entry_hash)
                    SELECT head_size + u.ord, u.ref, u.content, u.content_hash, u.prev_hash, u.entry_hash
                    FROM unnest(refs, contents, content_hashes, prev_hashes, entry_hashes)
                        WITH ORDINALITY AS u(ref, content, content_hash, prev_hash, entry_hash, ord);
                    UPDATE ledger_head SET size = head_size + n, hash = head_hash WHERE id = 1;
                    RETURN QUERY SELECT g::BIGINT, head_size + g FROM generate_series(1, n) g;
                END
                $$
                """,
                """
                CREATE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
                END
                $$
                """,
                """
                CREATE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE ON ledger_entries
                FOR EACH ROW EXECUTE FUNCTION ledger_append_only()
                """,
                """
                CREATE TRIGGER ledger_checkpoints_append_only BEFORE UPDATE OR DELETE ON ledger_checkpoints
                FOR EACH ROW EXECUTE FUNCTION ledger_append_only()
                """,
            ]),
        Migration.personalData(integer: "BIGINT", blob: "BYTEA", strict: ""),
        Migration.rights(integer: "BIGINT", strict: ""),
        Migration(
            version: 9, name: "retention",
            statements: [
                // The retention job, and only inside its own transaction, may delete old audit rows.
                """
                CREATE OR REPLACE FUNCTION auth_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF TG_OP = 'DELETE' AND current_setting('qspp.retention_purge', true) = 'on' THEN
                        RETURN OLD;
                    END IF;
                    RAISE EXCEPTION 'auth_events is append-only';
                END
                $$
                """
            ]),
        Migration.valuation(integer: "BIGINT", strict: ""),
    ]
}
