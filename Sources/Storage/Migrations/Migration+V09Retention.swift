extension Migration {
    /// The retention job, and only inside its own transaction, may delete old audit rows, which version 4
    /// otherwise refuses.
    static let v09Retention = Version(
        number: 9, name: "retention",
        postgres: [
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
        ],
        sqlite: [
            "CREATE TABLE retention_purge (active INTEGER NOT NULL) STRICT",
            "DROP TRIGGER auth_events_no_delete",
            """
            CREATE TRIGGER auth_events_no_delete BEFORE DELETE ON auth_events
            WHEN NOT EXISTS (SELECT 1 FROM retention_purge)
            BEGIN SELECT RAISE(ABORT, 'auth_events is append-only'); END
            """,
        ])
}
