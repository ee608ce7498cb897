extension Migration {
    /// The hash-chained ledger (issue #4), so a changed or removed consent record shows: entries, the
    /// chain's head and signed checkpoints, and each backend's refusal to update or delete them.
    static let v06Ledger = Version(
        number: 6, name: "ledger",
        postgres: ledgerStatements(
            .postgres, zeroHash: "'\\x\(String(repeating: "0", count: 64))'::bytea",
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
        sqlite: ledgerStatements(
            .sqlite, zeroHash: "zeroblob(32)",
            appendOnly: ["ledger_entries", "ledger_checkpoints"].flatMap { table in
                ["UPDATE", "DELETE"].map { change in
                    """
                    CREATE TRIGGER \(table)_no_\(change.lowercased()) BEFORE \(change) ON \(table)
                    BEGIN SELECT RAISE(ABORT, '\(table) is append-only'); END
                    """
                }
            }))

    /// The statements both backends share, then `appendOnly`: each backend's own triggers that refuse
    /// updates and deletes of entries and checkpoints.
    private static func ledgerStatements(_ dialect: Dialect, zeroHash: String, appendOnly: [String]) -> [String] {
        [
            """
            CREATE TABLE ledger_entries (
                seq \(dialect.integer) PRIMARY KEY,
                reference TEXT NOT NULL,
                content \(dialect.blob) NOT NULL,
                content_hash \(dialect.blob) NOT NULL,
                prev_hash \(dialect.blob) NOT NULL,
                entry_hash \(dialect.blob) NOT NULL
            )\(dialect.strict)
            """,
            // One row: the lock every append takes, held only for its own transaction.
            """
            CREATE TABLE ledger_head (
                id \(dialect.integer) PRIMARY KEY CHECK (id = 1),
                size \(dialect.integer) NOT NULL,
                hash \(dialect.blob) NOT NULL
            )\(dialect.strict)
            """,
            "INSERT INTO ledger_head (id, size, hash) VALUES (1, 0, \(zeroHash))",
            """
            CREATE TABLE ledger_checkpoints (
                size \(dialect.integer) PRIMARY KEY,
                head_hash \(dialect.blob) NOT NULL,
                signed_at \(dialect.integer) NOT NULL,
                signature TEXT NOT NULL
            )\(dialect.strict)
            """,
            "ALTER TABLE consent_events ADD COLUMN ledger_seq \(dialect.integer)",
        ] + appendOnly
    }
}
