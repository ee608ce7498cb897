#!/usr/bin/env bash
# Authentication benchmark. In one invocation, on a release build against a throwaway PostgreSQL cluster,
# alternating for several rounds (medians compared, because this machine's speed drifts):
#   reference  `qspp speed`: raw ML-DSA-65 verifies/s and Argon2id hashes/s on all cores;
#   auth       wrk GET /v1/purposes with a bearer token: the authentication layer alone (signature or
#              verified-token cache, expiry, session revocation) in front of a cached read;
#   me         wrk GET /v1/me: the same plus one database read;
#   login      wrk POST /v1/auth/login with the right password (Argon2id at OWASP's minimum), spread
#              over 64 accounts as real logins are;
#   refresh    wrk POST /v1/auth/refresh, each connection rotating its own token chain;
# and, once, the answer time of a wrong password against that of an unknown email.
# Usage: scripts/bench/bench-auth.sh [seconds per run, default 10] [rounds, default 3] [postgres|sqlite, default postgres]
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib/setup.sh
source scripts/lib/postgres.sh
source scripts/lib/bench.sh
duration=${1:-10}
rounds=${2:-3}
backend=${3:-postgres}

qspp_bench_tools
binary=${QSPP_BINARY:-$(qspp_release_binary)}

qspp_bench_start "$binary" "$backend"
workdir=$bench_workdir

password="bench password $(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')"
login() {
    curl -fsS -X POST "http://127.0.0.1:$port/v1/auth/login" -H 'Content-Type: application/json' \
        -d "{\"email\":\"$1\",\"password\":\"$password\"}"
}
prefix="bench-$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')"
accounts=64
for index in $(seq "$accounts"); do
    curl -fsS -X POST "http://127.0.0.1:$port/v1/auth/register" -H 'Content-Type: application/json' \
        -d "{\"email\":\"$prefix-$index@example.com\",\"password\":\"$password\"}" >/dev/null
done
email="$prefix-1@example.com"
export QSPP_BENCH_TOKEN=$(login "$email" | python3 -c 'import json, sys; print(json.load(sys.stdin)["accessToken"])')
export QSPP_BENCH_PREFIX="$prefix" QSPP_BENCH_ACCOUNTS="$accounts" QSPP_BENCH_PASSWORD="$password"
refresh_connections=8

timing_pairs=200
for index in $(seq "$timing_pairs"); do
    curl -fsS -X POST "http://127.0.0.1:$port/v1/auth/register" -H 'Content-Type: application/json' \
        -d "{\"email\":\"$prefix-timing-$index@example.com\",\"password\":\"$password\"}" >/dev/null
done
timing=$(python3 scripts/bench/login-timing.py "$port" "$prefix" "$timing_pairs")

rate() { grep '^BENCH' | sed 's/.*rps=\([0-9.]*\).*/\1/'; }
verify_rates=() hash_rates=() auth_rates=() get_rates=() login_rates=() refresh_rates=() bad=0
for round in $(seq "$rounds"); do
    echo "== round $round/$rounds" >&2
    speed=$("$binary" speed --seconds "$duration")
    verify_rates+=("$(echo "$speed" | sed 's/.*mldsa65_verify_per_second=\([0-9.]*\).*/\1/')")
    hash_rates+=("$(echo "$speed" | sed 's/.*argon2id_hash_per_second=\([0-9.]*\).*/\1/')")
    out=$(QSPP_BENCH_PATH=/v1/purposes wrk -t 2 -c 64 -d "${duration}s" -s scripts/bench/auth-get.lua \
        "http://127.0.0.1:$port")
    auth_rates+=("$(echo "$out" | rate)")
    bad=$((bad + $(echo "$out" | grep '^BENCH' | sed 's/.*bad=\([0-9]*\).*/\1/')))
    out=$(QSPP_BENCH_PATH=/v1/me wrk -t 2 -c 64 -d "${duration}s" -s scripts/bench/auth-get.lua "http://127.0.0.1:$port")
    get_rates+=("$(echo "$out" | rate)")
    bad=$((bad + $(echo "$out" | grep '^BENCH' | sed 's/.*bad=\([0-9]*\).*/\1/')))
    out=$(wrk -t 2 -c 16 -d "${duration}s" --timeout 10s -s scripts/bench/auth-login.lua "http://127.0.0.1:$port")
    login_rates+=("$(echo "$out" | rate)")
    bad=$((bad + $(echo "$out" | grep '^BENCH' | sed 's/.*bad=\([0-9]*\).*/\1/')))
    : >"$workdir/refresh-tokens"
    for _ in $(seq "$refresh_connections"); do
        login "$email" | python3 -c 'import json, sys; print(json.load(sys.stdin)["refreshToken"])' \
            >>"$workdir/refresh-tokens"
    done
    out=$(QSPP_BENCH_REFRESH_TOKENS="$workdir/refresh-tokens" wrk -t "$refresh_connections" \
        -c "$refresh_connections" -d "${duration}s" -s scripts/bench/auth-refresh.lua "http://127.0.0.1:$port")
    refresh_rates+=("$(echo "$out" | rate)")
    bad=$((bad + $(echo "$out" | grep '^BENCH' | sed 's/.*bad=\([0-9]*\).*/\1/')))
    echo "   verify ${verify_rates[-1]}/s hash ${hash_rates[-1]}/s | auth ${auth_rates[-1]}/s me ${get_rates[-1]}/s login ${login_rates[-1]}/s refresh ${refresh_rates[-1]}/s" >&2
done

verify=$(printf '%s\n' "${verify_rates[@]}" | median)
hash=$(printf '%s\n' "${hash_rates[@]}" | median)
auth=$(printf '%s\n' "${auth_rates[@]}" | median)
get=$(printf '%s\n' "${get_rates[@]}" | median)
logins=$(printf '%s\n' "${login_rates[@]}" | median)
refreshes=$(printf '%s\n' "${refresh_rates[@]}" | median)
echo
echo "medians of $rounds alternating rounds of ${duration}s on $(nproc) cores, $backend, log level $QSPP_LOG_LEVEL"
printf '%-46s %s\n' "raw ML-DSA-65 verifies (all cores)" "$verify /s   (rounds: ${verify_rates[*]})"
printf '%-46s %s\n' "raw Argon2id m=19MiB t=2 p=1 (all cores)" "$hash /s   (rounds: ${hash_rates[*]})"
printf '%-46s %s\n' "GET /v1/purposes with a token, 64 connections" "$auth req/s   (rounds: ${auth_rates[*]})"
printf '%-46s %s\n' "GET /v1/me, 64 connections" "$get req/s   (rounds: ${get_rates[*]})"
printf '%-46s %s\n' "POST /v1/auth/login, 16 connections" "$logins req/s   (rounds: ${login_rates[*]})"
printf '%-46s %s\n' "POST /v1/auth/refresh, $refresh_connections token chains" "$refreshes req/s   (rounds: ${refresh_rates[*]})"
printf '%-46s %s\n' "ratio authenticated GET / raw verify" "$(awk "BEGIN{printf \"%.2f\", $auth/$verify}")"
printf '%-46s %s\n' "ratio GET /v1/me / raw verify" "$(awk "BEGIN{printf \"%.2f\", $get/$verify}")"
printf '%-46s %s\n' "ratio login / raw Argon2id" "$(awk "BEGIN{printf \"%.2f\", $logins/$hash}")"
printf '%-46s %s\n' "unexpected answers" "$bad"
printf '%-46s %s\n' "wrong password vs unknown email (medians)" "$(echo "$timing" | sed 's/^TIMING //')"
