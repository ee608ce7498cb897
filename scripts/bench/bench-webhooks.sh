#!/usr/bin/env bash
# Webhooks and consent checks. In one invocation, on a release build against a throwaway PostgreSQL
# cluster:
#   reference  wrk GET /v1/purposes with a bearer token: the authenticated read of bench-auth.sh;
#   uncached   wrk GET /v1/subjects/{id}/consents/marketing with a machine client's token (consent:read);
#   cached     the same with If-None-Match: the answer's ETag, so every answer is a bodiless 304;
# alternating for several rounds (medians compared); then, once, RATE consent decisions per second for
# SECONDS seconds with a webhook endpoint registered (webhook_sink.py, which answers at once), timing
# each webhook from the write's acknowledgement to its arrival.
# Usage: scripts/bench/bench-webhooks.sh [seconds per run, default 10] [rounds, default 3]
#        [decisions per second, default 1000] [seconds of decisions, default 20]
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib/setup.sh
source scripts/lib/postgres.sh
source scripts/lib/bench.sh
source scripts/lib/admin.sh
duration=${1:-10}
rounds=${2:-3}
rate=${3:-1000}
seconds=${4:-20}

qspp_bench_tools
qspp_python_test_tools
qspp_find_pg_bin
binary=${QSPP_BINARY:-$(qspp_release_binary)}
export QSPP_WEBHOOK_PRIVATE_NETWORKS=true
qspp_bench_start "$binary" postgres
base="http://127.0.0.1:$port"
admin=$(qspp_admin_token "$binary" "$port")
json() { python3 -c "import json, sys; print(json.load(sys.stdin)$1)"; }

machine=$(curl -fsS -X POST "$base/v1/admin/oauth-clients" -H "Authorization: Bearer $admin" \
    -H 'Content-Type: application/json' \
    -d '{"name":"bench","kind":"confidential","tokenEndpointAuthMethod":"client_secret_post","grantTypes":["client_credentials"],"scopes":["consent:read"]}')
machine_id=$(echo "$machine" | json '["client"]["clientId"]')
machine_secret=$(echo "$machine" | json '["clientSecret"]')
export QSPP_BENCH_TOKEN=$(curl -fsS -X POST "$base/token" -d grant_type=client_credentials \
    -d "client_id=$machine_id" --data-urlencode "client_secret=$machine_secret" | json '["access_token"]')
subject="bench-$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')"
curl -fsS -X POST "$base/v1/subjects/$subject/consents" -H "Authorization: Bearer $admin" \
    -H 'Content-Type: application/json' -d '{"purpose":"marketing","decision":"granted"}' >/dev/null
export QSPP_BENCH_PATH="/v1/subjects/$subject/consents/marketing"
etag=$(curl -fsS -D - -o /dev/null "$base$QSPP_BENCH_PATH" -H "Authorization: Bearer $QSPP_BENCH_TOKEN" |
    sed -n 's/^[Ee][Tt]ag: *\(.*\)\r$/\1/p')
[ -n "$etag" ] || { echo "no ETag on the consent check" >&2; exit 1; }

rate_of() { grep '^BENCH' | sed 's/.*rps=\([0-9.]*\).*/\1/'; }
bad_of() { grep '^BENCH' | sed 's/.*bad=\([0-9]*\).*/\1/'; }
reference_rates=() uncached_rates=() cached_rates=() bad=0
for round in $(seq "$rounds"); do
    echo "== round $round/$rounds" >&2
    out=$(QSPP_BENCH_TOKEN="$admin" QSPP_BENCH_PATH=/v1/purposes wrk -t 2 -c 64 -d "${duration}s" \
        -s scripts/bench/auth-get.lua "$base")
    reference_rates+=("$(echo "$out" | rate_of)")
    bad=$((bad + $(echo "$out" | bad_of)))
    out=$(wrk -t 2 -c 64 -d "${duration}s" -s scripts/bench/consent-check.lua "$base")
    uncached_rates+=("$(echo "$out" | rate_of)")
    bad=$((bad + $(echo "$out" | bad_of)))
    out=$(QSPP_BENCH_ETAG="$etag" wrk -t 2 -c 64 -d "${duration}s" -s scripts/bench/consent-check.lua "$base")
    cached_rates+=("$(echo "$out" | rate_of)")
    bad=$((bad + $(echo "$out" | bad_of)))
    echo "   reference ${reference_rates[-1]}/s uncached ${uncached_rates[-1]}/s cached ${cached_rates[-1]}/s" >&2
done
reference=$(printf '%s\n' "${reference_rates[@]}" | median)
uncached=$(printf '%s\n' "${uncached_rates[@]}" | median)
cached=$(printf '%s\n' "${cached_rates[@]}" | median)

sink_records="$bench_workdir/sink.records"
: >"$sink_records"
python3 scripts/bench/webhook_sink.py "$sink_records" >"$bench_workdir/sink.port" &
sink=$!
trap 'kill $sink 2>/dev/null; qspp_bench_stop' EXIT
for _ in $(seq 50); do [ -s "$bench_workdir/sink.port" ] && break; sleep 0.1; done
curl -fsS -X POST "$base/v1/admin/webhooks" -H "Authorization: Bearer $admin" -H 'Content-Type: application/json' \
    -d "{\"url\":\"http://127.0.0.1:$(head -n 1 "$bench_workdir/sink.port")/hook\",\"events\":[\"consent.granted\",\"consent.withdrawn\"]}" \
    >/dev/null
echo "== $rate decisions per second for ${seconds}s, each reported by webhook" >&2
result=$(cd scripts/bench && python3 webhook_load.py "$port" "$admin" "$sink_records" "$rate" "$seconds")

printf '%-52s %s\n' "reference: GET /v1/purposes, bearer token" "$reference req/s   (rounds: ${reference_rates[*]})"
printf '%-52s %s\n' "consent check, 200" "$uncached req/s   (rounds: ${uncached_rates[*]})"
printf '%-52s %s\n' "consent check, If-None-Match, 304" "$cached req/s   (rounds: ${cached_rates[*]})"
python3 - "$reference" "$uncached" "$cached" "$result" "$bad" <<'PY'
import json, sys
reference, uncached, cached = (float(v) for v in sys.argv[1:4])
result, bad = json.loads(sys.argv[4]), int(sys.argv[5])
print(f"ratios to the reference: uncached {uncached / reference:.2f}, cached {cached / reference:.2f}; "
      f"unexpected answers: {bad}")
print(f"webhooks at {result['achieved_rate']} decisions/s (asked {result['asked_rate']}): "
      f"{result['delivered_during_load_per_s']} delivered/s during the load; lag p50 {result['lag_p50_ms']} ms, "
      f"p99 {result['lag_p99_ms']} ms, max {result['lag_max_ms']} ms; {result['missing']} of {result['events']} "
      f"missing, {result['refused']} writes refused")
PY
