#!/usr/bin/env bash
# The consent dashboard of a person with 1,000 decisions: its render time (p50/p99) and throughput,
# against the JSON history route that reads the same 100 newest decisions, in alternating rounds of
# one invocation on one release build and SQLite database; and the bytes a first and a repeat visit
# transfer. Render time is measured on one connection (nothing queues), throughput on eight.
# Usage: scripts/bench/bench-pages.sh [seconds per run, default 10] [rounds, default 3]
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib/setup.sh
source scripts/lib/postgres.sh
source scripts/lib/bench.sh
duration=${1:-10}
rounds=${2:-3}
command -v wrk >/dev/null || qspp_apt_install wrk
binary=${QSPP_BINARY:-$(qspp_release_binary)}
workdir=$(mktemp -d)
port=$(qspp_free_port 18480)
QSPP_DATABASE_URL="sqlite:$workdir/qspp.sqlite" QSPP_LOG_LEVEL=warning QSPP_LOGIN_RATE_LIMIT=100000000 \
    QSPP_REGISTER_RATE_LIMIT=100000000 QSPP_RATE_LIMIT_GLOBAL=100000000 QSPP_RATE_LIMIT_CONSENT=100000000 \
    QSPP_RATE_LIMIT_COSTLY=100000000 "$binary" serve --port "$port" >"$workdir/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$workdir"' EXIT
base="http://127.0.0.1:$port"
qspp_wait_ready "$base" "$server" "$workdir/server.log"

password="page bench password"
curl -fsS -X POST "$base/v1/auth/register" -H 'Content-Type: application/json' \
    -d "{\"email\":\"pages@example.com\",\"password\":\"$password\"}" >/dev/null
read -r token subject < <(curl -fsS -X POST "$base/v1/auth/login" -H 'Content-Type: application/json' \
    -d "{\"email\":\"pages@example.com\",\"password\":\"$password\"}" |
    python3 -c 'import json, sys; body = json.load(sys.stdin); print(body["accessToken"], body["user"]["id"])')
# 1,000 decisions, alternating over the catalog's purposes, in batches of 100.
batch=$(curl -fsS "$base/v1/purposes" | python3 -c '
import json, sys
purposes = [p["id"] for p in json.load(sys.stdin)["purposes"]]
print(json.dumps({"decisions": [{"purpose": purposes[i % len(purposes)],
                                 "decision": "granted" if (i // len(purposes)) % 2 == 0 else "withdrawn"}
                                for i in range(100)]}))')
for _ in $(seq 10); do
    curl -fsS -X POST "$base/v1/subjects/$subject/consents/batch" -H "Authorization: Bearer $token" \
        -H 'Content-Type: application/json' -d "$batch" >/dev/null
done

# A browser session: the sign-in form, as a browser posts it.
jar="$workdir/cookies"
curl -fsS -c "$jar" "$base/login" >/dev/null
csrf=$(awk '$6 == "__Host-qspp-csrf" { print $7 }' "$jar")
curl -fsS -b "$jar" -c "$jar" -o /dev/null "$base/login" \
    --data-urlencode "csrf=$csrf" --data-urlencode "email=pages@example.com" --data-urlencode "password=$password"
cookie=$(awk '$6 ~ /^__Host-qspp-/ { printf "%s=%s; ", $6, $7 }' "$jar")
page_bytes=$(curl -fsS -H "Cookie: $cookie" -o "$workdir/page.html" -w '%{size_download}' "$base/my/consent")
grep -q 'Older decisions' "$workdir/page.html" || { echo "the dashboard did not render the history" >&2; exit 1; }
css=$(grep -o '/assets/portal.css?v=[0-9a-f]*' "$workdir/page.html")
js=$(grep -o '/assets/portal.js?v=[0-9a-f]*' "$workdir/page.html")
css_bytes=$(curl -fsS -o /dev/null -w '%{size_download}' "$base$css")
js_bytes=$(curl -fsS -o /dev/null -w '%{size_download}' "$base$js")
header_bytes=$(curl -fsS -H "Cookie: $cookie" -D - -o /dev/null "$base/my/consent" | wc -c)

measure() {
    QSPP_BENCH_TOKEN=$token QSPP_BENCH_COOKIE=$2 QSPP_BENCH_PATH=$1 wrk -t "$(( $3 > 1 ? 2 : 1 ))" -c "$3" \
        -d "${duration}s" -s scripts/bench/auth-get.lua "$base" | grep '^BENCH'
}
field() { sed "s/.*$1=\([0-9.]*\).*/\1/"; }
page=() json=() page8=() json8=()
history="/v1/subjects/$subject/consents/history?limit=100"
for round in $(seq "$rounds"); do
    page+=("$(measure /my/consent "$cookie" 1)")
    json+=("$(measure "$history" "" 1)")
    page8+=("$(measure /my/consent "$cookie" 8)")
    json8+=("$(measure "$history" "" 8)")
    echo "round $round/$rounds: page ${page[-1]} / ${page8[-1]}; JSON ${json[-1]} / ${json8[-1]}" >&2
done
for kind in page json page8 json8; do
    declare -n runs=$kind
    for name in p50_us p99_us rps; do
        declare "${kind}_$name=$(printf '%s\n' "${runs[@]}" | field "$name" | median)"
    done
    bad=$(printf '%s\n' "${runs[@]}" | field bad | sort -n | tail -n 1)
    [ "$bad" = 0 ] || { echo "$kind: $bad answers were not 200" >&2; exit 1; }
done
echo "consent dashboard (GET /my/consent, 1,000 decisions, newest 100 shown), medians of $rounds rounds of ${duration}s"
echo "render time, one connection: page p50 ${page_p50_us} us, p99 ${page_p99_us} us;" \
    "JSON history of the same 100 decisions p50 ${json_p50_us} us, p99 ${json_p99_us} us"
echo "throughput, 8 connections: ${page8_rps} pages/s against ${json8_rps} JSON req/s:" \
    "$(awk "BEGIN{printf \"%.3f\", $page8_rps/$json8_rps}")"
echo "transfer: page $page_bytes B + headers $header_bytes B; first visit adds CSS $css_bytes B and JS $js_bytes B" \
    "(cached for a year): $((page_bytes + header_bytes + css_bytes + js_bytes)) B first, $((page_bytes + header_bytes)) B after"
