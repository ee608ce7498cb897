# Throwaway PostgreSQL clusters for tests and benchmarks. Source this file; it defines functions only.
#
# PostgreSQL refuses to run as root, so when we are root the server runs as the `postgres` user.

qspp_find_pg_bin() {
    local tool
    for tool in initdb pg_ctl; do
        if ! command -v "$tool" >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/"$tool" >/dev/null 2>&1; then
            return 1
        fi
    done
    if command -v initdb >/dev/null 2>&1; then
        PG_BIN=$(dirname "$(readlink -f "$(command -v initdb)")")
    else
        PG_BIN=$(dirname "$(ls -d /usr/lib/postgresql/*/bin/initdb | sort -V | tail -n 1)")
    fi
    export PG_BIN
}

qspp_as_postgres() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

qspp_free_port() {
    local port
    for port in $(seq "$1" $(($1 + 200))); do
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return 0
        fi
    done
    return 1
}

# qspp_pg_start NAME: starts a cluster in a new temporary directory and sets
# <NAME>_DIR, <NAME>_PORT and <NAME>_URL. The cluster listens on 127.0.0.1 only and trusts local users.
# Ports come from below the kernel's ephemeral range, where outgoing connections cannot hold them;
# a port taken between the check and the start is skipped.
qspp_pg_start() {
    local name=$1 dir port attempt
    dir=$(mktemp -d "${TMPDIR:-/tmp}/qspp-pg-$name.XXXXXX")
    chmod 755 "$dir"
    [ "$(id -u)" -eq 0 ] && chown postgres "$dir"
    qspp_as_postgres "$PG_BIN/initdb" -D "$dir/data" -U qspp --auth=trust -E UTF8 --locale=C >"$dir/initdb.log" 2>&1 || {
        cat "$dir/initdb.log" >&2
        return 1
    }
    port=25431
    # Each split-topology test runs five stores (a gateway, three roles and the test's own), each with
    # a pool of up to 16 connections, four tests at once: 200 connections ran out, and a pool waiting
    # for a connection the server refuses waits for good.
    for attempt in 1 2 3 4 5; do
        port=$(qspp_free_port $((port + 1)))
        if qspp_as_postgres "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
            -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=500 -c shared_buffers=256MB" \
            start >/dev/null; then
            break
        fi
        if [ "$attempt" -eq 5 ]; then
            cat "$dir/server.log" >&2
            return 1
        fi
    done
    printf -v "${name}_DIR" '%s' "$dir"
    printf -v "${name}_PORT" '%s' "$port"
    printf -v "${name}_URL" '%s' "postgres://qspp@127.0.0.1:$port/postgres?sslmode=disable"
    export "${name}_DIR" "${name}_PORT" "${name}_URL"
}

qspp_pg_stop() {
    local dir=$1
    [ -d "$dir/data" ] || return 0
    qspp_as_postgres "$PG_BIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
    rm -rf "$dir"
}
