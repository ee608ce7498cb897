#!/usr/bin/env bash
# The gateway layer's cost on an authenticated GET: in one invocation, a release build of this tree
# and one of the commit just before the gateway was added (or BASE), each serving its own SQLite
# database, measured in alternating rounds with wrk (GET /v1/purposes with a bearer token,
# 64 connections), medians compared.
# Usage: scripts/bench/bench-gateway.sh [seconds per run, default 10] [rounds, default 3] [BASE revision]
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib/setup.sh
source scripts/lib/postgres.sh
source scripts/lib/bench.sh
duration=${1:-10}
rounds=${2:-3}
base=${3:-$(git log --diff-filter=A --format=%H -- Sources/App/Gateway | tail -n 1)~1}
command -v wrk >/dev/null || qspp_apt_install wrk

current=$(qspp_release_binary)
# The base is built in a worktree with a build folder of its own, kept for the next run.
worktree=.build-gateway-base/tree
rm -rf "$worktree" && git worktree prune
git worktree add --detach --force "$worktree" "$base" >/dev/null
swift build -c release --static-swift-stdlib --product qspp --package-path "$worktree" --scratch-path .build-gateway-base/build >&2
baseline=$(swift build -c release --static-swift-stdlib --package-path "$worktree" --scratch-path .build-gateway-base/build --show-bin-path)/qspp

workdir=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$workdir"
    git worktree remove --force "$worktree" 2>/dev/null || true
}
trap cleanup EXIT

# Starts BINARY on a database of its own; sets started_port and started_token.
start() {
    local binary=$1 name=$2 port password="gateway bench password"
    mkdir -p "$workdir/$name"
    port=$(qspp_free_port $((18080 + ${#pids[@]} * 10)))
    QSPP_DATABASE_URL="sqlite:$workdir/$name/qspp.sqlite" QSPP_MASTER_KEY="$("$binary" keys new-master-key)" \
        QSPP_LOG_LEVEL=warning QSPP_LOGIN_RATE_LIMIT=100000000 QSPP_REGISTER_RATE_LIMIT=100000000 \
        QSPP_RATE_LIMIT_GLOBAL=100000000 QSPP_RATE_LIMIT_CONSENT=100000000 QSPP_RATE_LIMIT_COSTLY=100000000 \
        "$binary" serve --port "$port" >"$workdir/$name/server.log" 2>&1 &
    pids+=($!)
    qspp_wait_ready "http://127.0.0.1:$port" "${pids[-1]}" "$workdir/$name/server.log"
    curl -fsS -X POST "http://127.0.0.1:$port/v1/auth/register" -H 'Content-Type: application/json' \
        -d "{\"email\":\"bench@example.com\",\"password\":\"$password\"}" >/dev/null
    started_port=$port
    started_token=$(curl -fsS -X POST "http://127.0.0.1:$port/v1/auth/login" -H 'Content-Type: application/json' \
        -d "{\"email\":\"bench@example.com\",\"password\":\"$password\"}" |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["accessToken"])')
}
start "$baseline" base
base_port=$started_port base_token=$started_token
start "$current" current
current_port=$started_port current_token=$started_token

measure() {
    QSPP_BENCH_TOKEN=$2 QSPP_BENCH_PATH=/v1/purposes wrk -t 2 -c 64 -d "${duration}s" \
        -s scripts/bench/auth-get.lua "http://127.0.0.1:$1" | grep '^BENCH'
}
rate() { sed 's/.*rps=\([0-9.]*\).*/\1/'; }
without=() with=()
for round in $(seq "$rounds"); do
    without+=("$(measure "$base_port" "$base_token" | rate)")
    with+=("$(measure "$current_port" "$current_token" | rate)")
    echo "round $round/$rounds: without ${without[-1]}/s, with ${with[-1]}/s" >&2
done
a=$(printf '%s\n' "${without[@]}" | median)
b=$(printf '%s\n' "${with[@]}" | median)
echo "GET /v1/purposes with a token, 64 connections, medians of $rounds alternating rounds of ${duration}s"
echo "without the gateway ($base): $a req/s (rounds: ${without[*]})"
echo "with the gateway: $b req/s (rounds: ${with[*]})"
echo "throughput kept: $(awk "BEGIN{printf \"%.3f\", $b/$a}")"
