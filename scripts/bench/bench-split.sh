#!/usr/bin/env bash
# The split-mode gateway hop. In one invocation, on one throwaway PostgreSQL cluster with durable
# commits, wrk measures the same requests against one `qspp serve --role all` and against the split
# topology's gateway (with the consent, auth and valuation roles behind it), in alternating rounds:
#   - consent writes: `POST /v1/subjects/{id}/consents` (admin token, a new person each time);
#   - authenticated reads: `GET /v1/me` with a bearer token;
# each with 1 connection (the hop's own latency) and 32 (under load). It prints the medians of p50,
# p99 and req/s, and what the hop added.
# Usage: scripts/bench/bench-split.sh [seconds per run, default 10] [rounds, default 3]
# QSPP_BINARY names the qspp to run (default: a release build).
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib/setup.sh
source scripts/lib/postgres.sh
source scripts/lib/admin.sh
source scripts/lib/cluster.sh
source scripts/lib/split.sh
duration=${1:-10}
rounds=${2:-3}
qspp_bench_tools
binary=${QSPP_BINARY:-$(qspp_release_binary)}
workdir=$(mktemp -d)
split_pids=()
all_pid=0
cleanup() {
    local pid
    for pid in "${split_pids[@]}" "$all_pid"; do [ "$pid" -gt 0 ] && kill -TERM "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    [ -n "${HOP_DIR:-}" ] && qspp_pg_stop "$HOP_DIR"
    rm -rf "$workdir"
}
trap cleanup EXIT

qspp_pg_start HOP
gateway_port=$(qspp_free_port 19800)
all_port=$(qspp_free_port 19850)
# One issuer for both set-ups, so one token serves both.
qspp_replica_env "$binary" "$HOP_URL" "http://127.0.0.1:$gateway_port"
QSPP_PORT=$all_port "$binary" serve >"$workdir/all.log" 2>&1 &
all_pid=$!
qspp_wait_ready "http://127.0.0.1:$all_port" "$all_pid" "$workdir/all.log"
qspp_split_start "$binary" "$workdir" "$gateway_port"
QSPP_BENCH_TOKEN=$(qspp_admin_token "$binary" "$gateway_port")
export QSPP_BENCH_TOKEN QSPP_BENCH_SUBJECTS=1000000 QSPP_BENCH_PATH=/v1/me

# run SETUP WORKLOAD CONNECTIONS SCRIPT URL: one wrk run; appends "setup workload connections rps p50 p99 bad".
run() {
    local summary
    summary=$(wrk -t 1 -c "$3" -d "${duration}s" --timeout 10s -s "$4" "$5" | grep '^BENCH')
    echo "$1 $2 $3 $(echo "$summary" | sed 's/.*rps=\([0-9.]*\).*/\1/') \
$(echo "$summary" | sed 's/.*p50_us=\([0-9]*\).*/\1/') $(echo "$summary" | sed 's/.*p99_us=\([0-9]*\).*/\1/') \
$(echo "$summary" | sed 's/BENCH [a-z0-9]*=\([0-9]*\).*/\1/')" | tee -a "$workdir/results" >&2
}

: >"$workdir/results"
for round in $(seq "$rounds"); do
    echo "== round $round/$rounds" >&2
    for workload in write read; do
        script=scripts/bench/consent-write.lua
        [ "$workload" = read ] && script=scripts/bench/auth-get.lua
        for connections in 1 32; do
            run all "$workload" "$connections" "$script" "http://127.0.0.1:$all_port"
            run split "$workload" "$connections" "$script" "http://127.0.0.1:$gateway_port"
        done
    done
done

python3 - "$workdir/results" <<'EOF'
import collections, statistics, sys
runs = collections.defaultdict(list)
for line in open(sys.argv[1]):
    setup, workload, connections, rps, p50, p99, bad = line.split()
    runs[(setup, workload, int(connections))].append((float(rps), int(p50), int(p99), int(bad)))
def median(key, index):
    return statistics.median(r[index] for r in runs[key])
print(f"\nmedians of {len(runs[('all', 'write', 1)])} rounds")
print("| workload | connections | all: req/s | all: p50 / p99 ms | split: req/s | split: p50 / p99 ms | hop adds p50 / p99 ms | non-2xx |")
print("| --- | --- | --- | --- | --- | --- | --- | --- |")
for workload, title in (("write", "consent write"), ("read", "GET /v1/me")):
    for connections in (1, 32):
        a, s = ("all", workload, connections), ("split", workload, connections)
        bad = sum(r[3] for r in runs[a] + runs[s])
        print(f"| {title} | {connections} | {median(a, 0):,.0f} | {median(a, 1) / 1000:.2f} / {median(a, 2) / 1000:.2f} "
              f"| {median(s, 0):,.0f} ({median(s, 0) / median(a, 0):.2f}) | {median(s, 1) / 1000:.2f} / {median(s, 2) / 1000:.2f} "
              f"| {(median(s, 1) - median(a, 1)) / 1000:+.2f} / {(median(s, 2) - median(a, 2)) / 1000:+.2f} | {bad} |")
EOF
