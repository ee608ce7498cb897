#!/usr/bin/env bash
# Scale-out benchmark. In one invocation, on one throwaway PostgreSQL cluster with durable commits,
# three release replicas of qspp and Debian's nginx in front of 1, 2 or 3 of them, wrk measures:
#   - consent writes: `POST /v1/subjects/{id}/consents` (admin token, a new person each time);
#   - authenticated reads: `GET /v1/me` with a bearer token;
# first straight at one replica (the reference, no nginx), then through nginx with 1, 2 and 3
# replicas, in rounds that alternate the four set-ups; it prints the medians, each as a ratio to the
# reference, and the CPU each kind of process used per request in the last round.
# Usage: scripts/bench/bench-scale.sh [seconds per run, default 10] [rounds, default 3]
# QSPP_BINARY names the qspp to run (default: a release build).
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib/setup.sh
source scripts/lib/postgres.sh
source scripts/lib/admin.sh
source scripts/lib/cluster.sh
duration=${1:-10}
rounds=${2:-3}
connections=32
qspp_bench_tools
[ -x /usr/sbin/nginx ] || qspp_apt_install nginx-light
binary=${QSPP_BINARY:-$(qspp_release_binary)}
workdir=$(mktemp -d)
pids=()
nginx_pid=0
cleanup() {
    [ "$nginx_pid" -gt 0 ] && kill -TERM "$nginx_pid" 2>/dev/null || true
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    [ -n "${SCALE_DIR:-}" ] && qspp_pg_stop "$SCALE_DIR"
    rm -rf "$workdir"
}
trap cleanup EXIT

qspp_pg_start SCALE
lb_port=$(qspp_free_port 19700)
qspp_replica_env "$binary" "$SCALE_URL" "http://127.0.0.1:$lb_port"
ports=()
for i in 0 1 2; do
    ports+=("$(qspp_free_port $((19720 + i * 20)))")
    "$binary" serve --port "${ports[$i]}" >"$workdir/replica-$i.log" 2>&1 &
    pids+=($!)
done
for i in 0 1 2; do qspp_wait_ready "http://127.0.0.1:${ports[$i]}" "${pids[$i]}" "$workdir/replica-$i.log"; done
QSPP_BENCH_TOKEN=$(qspp_admin_token "$binary" "${ports[0]}")
export QSPP_BENCH_TOKEN QSPP_BENCH_SUBJECTS=1000000 QSPP_BENCH_PATH=/v1/me

stop_nginx() {
    kill -TERM "$nginx_pid"
    wait "$nginx_pid" 2>/dev/null || true
    nginx_pid=0
}

ticks() { # utime + stime of the given processes and of their reaped children
    local total=0 pid
    for pid in "$@"; do total=$((total + $(awk '{print $14 + $15 + $16 + $17}' "/proc/$pid/stat" 2>/dev/null || echo 0))); done
    echo "$total"
}
nginx_pids() { pgrep -f "nginx: (master|worker)" | tr '\n' ' '; }

# run SETUP WORKLOAD SCRIPT URL: one wrk run; appends "setup workload rps p50 p99 bad" to results,
# and the CPU ticks per 1,000 requests of qspp, PostgreSQL and nginx to cpu.
run() {
    local setup=$1 workload=$2 script=$3 url=$4 summary q0 p0 n0 requests
    q0=$(ticks "${pids[@]}") p0=$(ticks $(pgrep -u postgres postgres)) n0=$(ticks $(nginx_pids))
    summary=$(wrk -t 2 -c "$connections" -d "${duration}s" --timeout 10s -s "$script" "$url" | grep '^BENCH')
    local rps p50 p99 bad
    rps=$(echo "$summary" | sed 's/.*rps=\([0-9.]*\).*/\1/')
    p50=$(echo "$summary" | sed 's/.*p50_us=\([0-9]*\).*/\1/')
    p99=$(echo "$summary" | sed 's/.*p99_us=\([0-9]*\).*/\1/')
    bad=$(echo "$summary" | sed 's/BENCH [a-z0-9]*=\([0-9]*\).*/\1/')
    echo "$setup $workload $rps $p50 $p99 $bad" >>"$workdir/results"
    requests=$(awk "BEGIN{print int($rps * $duration)}")
    echo "$setup $workload $(( ($(ticks "${pids[@]}") - q0) * 1000 / (requests + 1) )) \
$(( ($(ticks $(pgrep -u postgres postgres)) - p0) * 1000 / (requests + 1) )) \
$(( ($(ticks $(nginx_pids)) - n0) * 1000 / (requests + 1) ))" >>"$workdir/cpu"
    echo "  $setup $workload: $rps req/s, p50 ${p50} µs, p99 ${p99} µs, non-2xx $bad" >&2
}

: >"$workdir/results"
for round in $(seq "$rounds"); do
    echo "== round $round/$rounds" >&2
    : >"$workdir/cpu"
    for workload in write read; do
        script=scripts/bench/consent-write.lua
        [ "$workload" = read ] && script=scripts/bench/auth-get.lua
        run direct "$workload" "$script" "http://127.0.0.1:${ports[0]}"
        for count in 1 2 3; do
            qspp_nginx_start "$workdir/nginx" "$lb_port" "${ports[@]:0:$count}"
            run "nginx-$count" "$workload" "$script" "http://127.0.0.1:$lb_port"
            stop_nginx
        done
    done
done

python3 - "$workdir/results" "$workdir/cpu" "$(getconf CLK_TCK)" <<'EOF'
import collections, statistics, sys
results = collections.defaultdict(list)
for line in open(sys.argv[1]):
    setup, workload, rps, p50, p99, bad = line.split()
    results[(setup, workload)].append((float(rps), int(p50), int(p99), int(bad)))
cpu = {(s, w): (int(q), int(p), int(n)) for s, w, q, p, n in (l.split() for l in open(sys.argv[2]))}
tick_ms = 1000 / int(sys.argv[3])
for workload, title in (("write", "consent writes"), ("read", "authenticated reads (GET /v1/me)")):
    print(f"\n{title}, medians of {len(results[('direct', workload)])} rounds:")
    print("| set-up | req/s | ratio to one replica direct | p50 ms | p99 ms | non-2xx | CPU ms per request: qspp / PostgreSQL / nginx |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    reference = statistics.median(r[0] for r in results[("direct", workload)])
    for setup in ("direct", "nginx-1", "nginx-2", "nginx-3"):
        runs = results[(setup, workload)]
        rps = statistics.median(r[0] for r in runs)
        p50 = statistics.median(r[1] for r in runs) / 1000
        p99 = statistics.median(r[2] for r in runs) / 1000
        bad = sum(r[3] for r in runs)
        q, p, n = (value * tick_ms / 1000 for value in cpu[(setup, workload)])
        name = "one replica, no nginx" if setup == "direct" else f"nginx, {setup[-1]} replica(s)"
        print(f"| {name} | {rps:,.0f} | {rps / reference:.3f} | {p50:.1f} | {p99:.1f} | {bad} | {q:.2f} / {p:.2f} / {n:.2f} |")
EOF
