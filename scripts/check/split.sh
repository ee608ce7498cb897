#!/usr/bin/env bash
# The split topology as four real processes on loopback, sharing a throwaway PostgreSQL: the consent,
# auth and valuation roles and the gateway. It fuzzes the whole API through the gateway from the
# OpenAPI document (scripts/check/fuzz-api.sh), kills the valuation role to see the gateway answer 502 and
# then 503 for its routes only while the others keep working, restarts it and waits for the gateway to
# recover, and ends with SIGTERM to all four, each of which must exit 0.
# Usage: scripts/check/split.sh [max examples per operation, default 10]
# QSPP_BINARY names the qspp to run (default: a release build).
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib/setup.sh
source scripts/lib/postgres.sh
source scripts/lib/cluster.sh
source scripts/lib/split.sh
source scripts/lib/admin.sh
examples=${1:-10}
qspp_find_pg_bin || { qspp_apt_install postgresql; qspp_find_pg_bin; }
binary=${QSPP_BINARY:-$(qspp_release_binary)}
workdir=$(mktemp -d)
split_pids=()
cleanup() {
    local pid
    # A stopped role's pid is 0, and `kill 0` would signal this whole process group.
    for pid in "${split_pids[@]}"; do [ "$pid" -gt 0 ] && kill -KILL "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    [ -n "${SPLIT_DIR:-}" ] && qspp_pg_stop "$SPLIT_DIR"
    rm -rf "$workdir"
}
trap cleanup EXIT

qspp_pg_start SPLIT
gateway_port=$(qspp_free_port 19800)
gateway="http://127.0.0.1:$gateway_port"
qspp_replica_env "$binary" "$SPLIT_URL" "$gateway"
qspp_split_start "$binary" "$workdir" "$gateway_port"
echo "split: gateway on $gateway, upstreams consent ${split_ports[0]}, auth ${split_ports[1]}, valuation ${split_ports[2]}"

status() { curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" "$gateway$1"; }
token=$(qspp_admin_token "$binary" "$gateway_port")
[ "$(status /v1/me)" = 200 ] && [ "$(status /v1/me/valuation)" = 200 ] && [ "$(status /v1/requests)" = 200 ]

QSPP_FUZZ_PORT=$gateway_port scripts/check/fuzz-api.sh "$examples"

# An upstream down: its routes answer 502 until its circuit opens, then 503 at once; others are unaffected.
kill -KILL "${split_pids[2]}"
wait "${split_pids[2]}" 2>/dev/null || true
seen=""
for _ in 1 2 3 4 5 6; do seen+=" $(status /v1/me/valuation)"; done
echo "split: valuation down, its route answered:$seen"
[[ "$seen" == *502* && "$seen" == *503 ]] || { echo "expected 502s, then 503 once the circuit opened" >&2; exit 1; }
[ "$(status /v1/purposes)" = 200 ] && [ "$(status /v1/me)" = 200 ]
started=$(date +%s%N)
qspp_split_start_role "$binary" "$workdir" 2
valuation_ok() { [ "$(status /v1/me/valuation)" = 200 ]; }
qspp_wait_until 30 "the gateway to answer 200 for /v1/me/valuation again after the valuation role restarted" valuation_ok
echo "split: valuation back; the gateway sent it requests again after $((($(date +%s%N) - started) / 1000000)) ms"

# No role logged an unhandled error, and each stops cleanly on SIGTERM (the gateway first, as a deploy would).
if grep -l '"unhandled error"' "$workdir"/*.log; then
    grep -h '"unhandled error"' "$workdir"/*.log >&2
    exit 1
fi
for i in 3 0 1 2; do
    kill -TERM "${split_pids[$i]}"
    code=0
    wait "${split_pids[$i]}" || code=$?
    [ "$code" -eq 0 ] || { echo "the ${split_roles[$i]} role exited $code on SIGTERM" >&2; exit 1; }
    split_pids[$i]=0
done
echo "split: all four roles stopped cleanly on SIGTERM"
