#!/usr/bin/env bash
# Consent write benchmark. In one invocation, against one throwaway PostgreSQL cluster with durable
# commits (fsync and synchronous_commit on, the defaults):
#   1. pgbench inserts the same row into the same table at 32 connections: PostgreSQL's ceiling;
#   2. wrk drives `POST /v1/subjects/{id}/consents` on a release build of qspp at 32 connections;
# and prints both rates, their ratio, our p50/p99, startup-to-ready time and idle/under-load RSS.
# The two alternate for several rounds and the medians are compared, because a shared 2-core
# machine's speed drifts by tens of percent from minute to minute.
# Usage: scripts/bench/bench-consent.sh [seconds per run, default 15] [rounds, default 3] [subjects, default 1000000]
# (the decisions come from that many different people: a million makes nearly every one a new person)
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib/setup.sh
source scripts/lib/postgres.sh
source scripts/lib/admin.sh
source scripts/lib/bench.sh
duration=${1:-15}
rounds=${2:-3}
export QSPP_BENCH_SUBJECTS=${3:-1000000}
connections=32

qspp_bench_tools
binary=${QSPP_BINARY:-$(qspp_release_binary)}

qspp_bench_start "$binary" postgres


QSPP_BENCH_TOKEN=$(qspp_admin_token "$binary" "$port")
export QSPP_BENCH_TOKEN
sleep 1
idle_rss_kb=$(awk '/VmRSS/ {print $2}' "/proc/$server_pid/status")
( while kill -0 "$server_pid" 2>/dev/null; do
      awk '/VmRSS/ {print $2}' "/proc/$server_pid/status" 2>/dev/null
      sleep 0.5
  done ) > /tmp/qspp-bench-rss.$$ &
sampler=$!

# CPU time (clock ticks) of qspp and of every PostgreSQL process, to report CPU per request.
ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
pg_ticks() { # utime + stime, and the reaped children's (exited backends), of every PostgreSQL process
    local total=0 pid
    for pid in $(pgrep -u postgres postgres); do
        total=$((total + $(awk '{print $14 + $15 + $16 + $17}' "/proc/$pid/stat" 2>/dev/null || echo 0)))
    done
    echo "$total"
}
# CPU seconds (user + system) of a client process, as /usr/bin/time wrote them.
client_cpu() { awk '{print $1 + $2}' "$1"; }
pg_rates=() qspp_rates=() p50s=() p99s=() failures=0 qspp_cpu=0 pg_cpu=0 requests=0
ref_pg_cpu=0 ref_client_cpu=0 ref_transactions=0 wrk_cpu=0
for round in $(seq "$rounds"); do
    echo "== round $round/$rounds: pgbench INSERT INTO consent_events, $connections connections, ${duration}s" >&2
    p0=$(pg_ticks)
    pg_output=$(/usr/bin/time -f "%U %S" -o "$bench_workdir/pgbench.time" "$PG_BIN/pgbench" -h 127.0.0.1 \
        -p "$BENCH_PORT" -U qspp -n -M prepared -c "$connections" -j 2 -T "$duration" -f scripts/bench/insert.sql postgres)
    ref_pg_cpu=$((ref_pg_cpu + $(pg_ticks) - p0))
    ref_client_cpu=$(awk "BEGIN{print $ref_client_cpu + $(client_cpu "$bench_workdir/pgbench.time")}")
    ref_transactions=$((ref_transactions + $(echo "$pg_output" | sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p')))
    pg_rates+=("$(echo "$pg_output" | sed -n 's/^tps = \([0-9.]*\).*/\1/p')")
    echo "== round $round/$rounds: qspp POST /v1/subjects/{id}/consents, $connections connections, ${duration}s" >&2
    q0=$(ticks "$server_pid") p0=$(pg_ticks)
    summary=$(/usr/bin/time -f "%U %S" -o "$bench_workdir/wrk.time" wrk -t 2 -c "$connections" -d "${duration}s" \
        --timeout 10s -s scripts/bench/consent-write.lua "http://127.0.0.1:$port" | grep '^BENCH')
    qspp_cpu=$((qspp_cpu + $(ticks "$server_pid") - q0)) pg_cpu=$((pg_cpu + $(pg_ticks) - p0))
    wrk_cpu=$(awk "BEGIN{print $wrk_cpu + $(client_cpu "$bench_workdir/wrk.time")}")
    qspp_rates+=("$(echo "$summary" | sed 's/.*rps=\([0-9.]*\).*/\1/')")
    p50s+=("$(echo "$summary" | sed 's/.*p50_us=\([0-9]*\).*/\1/')")
    p99s+=("$(echo "$summary" | sed 's/.*p99_us=\([0-9]*\).*/\1/')")
    failures=$((failures + $(echo "$summary" | sed 's/.*non201=\([0-9]*\).*/\1/')))
    echo "   pgbench ${pg_rates[-1]} tx/s, qspp ${qspp_rates[-1]} req/s" >&2
done
# The floor: qspp's CPU for a request that carries the same token and does nothing (GET /health).
# HTTP, the middleware and the 5 KB ML-DSA token cost this much before a write does any work of its own.
h0=$(ticks "$server_pid")
floor=$(QSPP_BENCH_PATH=/health wrk -t 2 -c "$connections" -d "${duration}s" -s scripts/bench/auth-get.lua \
    "http://127.0.0.1:$port" | grep '^BENCH')
floor_cpu=$(($(ticks "$server_pid") - h0))
floor_rps=$(echo "$floor" | sed 's/.*rps=\([0-9.]*\).*/\1/')
kill "$sampler" 2>/dev/null || true
peak_rss_kb=$(sort -n /tmp/qspp-bench-rss.$$ | tail -n 1)
rm -f /tmp/qspp-bench-rss.$$

pg_tps=$(printf '%s\n' "${pg_rates[@]}" | median)
rps=$(printf '%s\n' "${qspp_rates[@]}" | median)
p50=$(printf '%s\n' "${p50s[@]}" | median)
p99=$(printf '%s\n' "${p99s[@]}" | median)
stored=$(qspp_as_postgres "$PG_BIN/psql" -h 127.0.0.1 -p "$BENCH_PORT" -U qspp -At -c \
    "SELECT count(*) FROM consent_events WHERE ledger_seq IS NOT NULL" postgres 2>/dev/null || echo "?")

echo
echo "medians of $rounds alternating rounds of ${duration}s, $connections connections, log level $QSPP_LOG_LEVEL, $QSPP_BENCH_SUBJECTS subjects"
printf '%-44s %s\n' "pgbench INSERT (PostgreSQL ceiling)" "$pg_tps tx/s   (rounds: ${pg_rates[*]})"
printf '%-44s %s\n' "qspp POST /v1/subjects/{id}/consents" "$rps req/s   (rounds: ${qspp_rates[*]})"
printf '%-44s %s\n' "qspp latency" "p50 $(awk "BEGIN{printf \"%.2f\", $p50/1000}") ms, p99 $(awk "BEGIN{printf \"%.2f\", $p99/1000}") ms, non-201 answers $failures"
printf '%-44s %s\n' "ratio qspp / pgbench" "$(awk "BEGIN{printf \"%.2f\", $rps/$pg_tps}")"
printf '%-44s %s\n' "startup to ready" "${ready_ms} ms"
printf '%-44s %s\n' "RSS idle / peak under load" "$((idle_rss_kb / 1024)) MiB / $((peak_rss_kb / 1024)) MiB"
printf '%-44s %s\n' "rows written by the qspp rounds" "$stored"
hz=$(getconf CLK_TCK)
if [ "$stored" -gt 0 ] 2>/dev/null; then
    printf '%-44s %s\n' "CPU per request: qspp / PostgreSQL" \
        "$(awk "BEGIN{printf \"%.0f µs / %.0f µs\", $qspp_cpu * 1000000 / $hz / $stored, $pg_cpu * 1000000 / $hz / $stored}")"
    # The whole CPU budget of each side: on two saturated cores, the ratio of the rates is about the
    # inverse ratio of these sums.
    printf '%-44s %s\n' "CPU per write, all processes: qspp side" \
        "$(awk "BEGIN{q = $qspp_cpu * 1e6 / $hz / $stored; p = $pg_cpu * 1e6 / $hz / $stored; w = $wrk_cpu * 1e6 / $stored
            printf \"%.0f µs (qspp %.0f + PostgreSQL %.0f + wrk %.0f)\", q + p + w, q, p, w}")"
    printf '%-44s %s\n' "qspp CPU per authenticated GET /health" \
        "$(awk "BEGIN{printf \"%.0f µs (%.0f req/s)\", $floor_cpu * 1e6 / $hz / ($floor_rps * $duration), $floor_rps}")"
    printf '%-44s %s\n' "CPU per write, all processes: pgbench side" \
        "$(awk "BEGIN{p = $ref_pg_cpu * 1e6 / $hz / $ref_transactions; c = $ref_client_cpu * 1e6 / $ref_transactions
            printf \"%.0f µs (PostgreSQL %.0f + pgbench %.0f)\", p + c, p, c}")"
fi
