extension Migration {
    /// On PostgreSQL `serve` may run as an application role that owns nothing and may never UPDATE,
    /// DELETE or TRUNCATE the append-only tables (``PostgresStore/grantPrivileges(to:)``). Retention still
    /// has to drop audit rows past their time: this function, which runs as the owner, is the one way
    /// to, and only for rows at least a day old (`cutoff` in microseconds since 1970, as the table keeps
    /// times). SQLite has no roles, so nothing changes there.
    static let v13LeastPrivilege = Version(
        number: 13, name: "least_privilege",
        postgres: [
            """
            CREATE FUNCTION purge_auth_events(cutoff BIGINT) RETURNS SETOF BIGINT
            LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
            BEGIN
                IF cutoff > (extract(epoch FROM now()) * 1000000)::BIGINT - 86400000000 THEN
                    RAISE EXCEPTION 'auth events are kept for at least a day' USING ERRCODE = 'insufficient_privilege';
                END IF;
                PERFORM set_config('qspp.retention_purge', 'on', true);
                RETURN QUERY DELETE FROM auth_events WHERE occurred_at < cutoff RETURNING seq;
                PERFORM set_config('qspp.retention_purge', 'off', true);
            END
            $$
            """,
            "REVOKE ALL ON FUNCTION purge_auth_events(BIGINT) FROM PUBLIC",
        ],
        sqlite: [])
}
