extension Migration {
    /// The authentication audit log is evidence: once written, a row may be neither changed nor
    /// deleted, on either backend.
    static let v04AuthEventsAppendOnly = Version(
        number: 4, name: "auth_events_append_only",
        postgres: [
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
        ],
        sqlite: [
            """
            CREATE TRIGGER auth_events_no_update BEFORE UPDATE ON auth_events
            BEGIN SELECT RAISE(ABORT, 'auth_events is append-only'); END
            """,
            """
            CREATE TRIGGER auth_events_no_delete BEFORE DELETE ON auth_events
            BEGIN SELECT RAISE(ABORT, 'auth_events is append-only'); END
            """,
        ])
}
