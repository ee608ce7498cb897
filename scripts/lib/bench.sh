# A throwaway database and a release `qspp serve` on it, for the benchmarks. Source this file.
#
# qspp_bench_start BINARY [postgres|sqlite]: creates the database (a PostgreSQL cluster, or an SQLite
# file), exports the QSPP_* settings, migrates, starts the server and waits until it is ready. Sets
# `port`, `server_pid`, `ready_ms` (process start until /ready answers) and `bench_workdir`, and stops
# everything when the calling script exits.
qspp_bench_start() {
    local binary=$1 backend=${2:-postgres} started
    bench_workdir=$(mktemp -d)
    server_pid=
    trap qspp_bench_stop EXIT
    if [ "$backend" = sqlite ]; then
        export QSPP_DATABASE_URL="sqlite:$bench_workdir/qspp.sqlite"
    else
        qspp_pg_start BENCH
        export QSPP_DATABASE_URL="$BENCH_URL"
    fi
    export QSPP_LOG_LEVEL="${QSPP_LOG_LEVEL:-warning}"
    export QSPP_MASTER_KEY="$("$binary" keys new-master-key)"
    export QSPP_LOGIN_RATE_LIMIT=100000000 QSPP_REGISTER_RATE_LIMIT=100000000 QSPP_RATE_LIMIT_GLOBAL=100000000 \
        QSPP_RATE_LIMIT_CONSENT=100000000 QSPP_RATE_LIMIT_COSTLY=100000000
    "$binary" migrate >/dev/null
    port=$(qspp_free_port 18080)
    started=$(date +%s%N)
    "$binary" serve --port "$port" >"$bench_workdir/server.log" 2>&1 &
    server_pid=$!
    qspp_wait_ready "http://127.0.0.1:$port" "$server_pid" "$bench_workdir/server.log"
    ready_ms=$((($(date +%s%N) - started) / 1000000))
}

qspp_bench_stop() {
    [ -n "${server_pid:-}" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
    [ -n "${BENCH_DIR:-}" ] && qspp_pg_stop "$BENCH_DIR"
    rm -rf "${bench_workdir:-}"
}

# The median of the numbers on stdin, one per line: runs alternate over several rounds, and this
# machine's speed drifts, so benchmarks compare medians.
median() { sort -n | awk '{ values[NR] = $1 } END { print values[int((NR + 1) / 2)] }'; }
