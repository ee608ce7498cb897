#!/usr/bin/env bash
# OAuth and OpenID Connect benchmark. In one invocation, on a release build against a throwaway
# PostgreSQL cluster, alternating for several rounds (medians compared, as this machine's speed drifts):
#   reference    `qspp speed`: raw ML-DSA-65 signs/s and verifies/s on all cores;
#   code         scripts/bench/oidc_load.py: authorization code round trips, each a browser's
#                /authorize (prompt=none, grant remembered) and the client's /token exchange, which
#                signs an access token and an ID token;
#   credentials  wrk POST /token, client_credentials (client_secret_post): one signed access token each;
#   introspect   wrk POST /introspect of a machine token by its client;
#   dpop         oidc_load.py: GET /v1/subjects/{id}/consents with a DPoP-bound token and a fresh
#                ES256 proof each, made by the clients on the same cores.
# Code exchanges and client-credentials tokens are compared with signs, introspections and DPoP reads
# with verifies.
# Usage: scripts/bench/bench-oidc.sh [seconds per run, default 10] [rounds, default 3]
#        [client processes, default 2] [clients per process, default 8]
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib/setup.sh
source scripts/lib/postgres.sh
source scripts/lib/bench.sh
source scripts/lib/admin.sh
duration=${1:-10}
rounds=${2:-3}
processes=${3:-2}
threads=${4:-8}

qspp_bench_tools
qspp_python_test_tools
qspp_find_pg_bin
binary=${QSPP_BINARY:-$(qspp_release_binary)}
qspp_bench_start "$binary" postgres

admin=$(qspp_admin_token "$binary" "$port")
state="$bench_workdir/oidc-state.json"
python3 scripts/bench/oidc_load.py setup "$port" "$admin" $((processes * threads)) "$state"
read -r machine_id machine_secret < <(python3 -c '
import json, sys; s = json.load(open(sys.argv[1])); print(s["machine_id"], s["machine_secret"])' "$state")
credentials="grant_type=client_credentials&client_id=$machine_id&client_secret=$machine_secret"
machine_token=$(curl -fsS -X POST "http://127.0.0.1:$port/token" -d "$credentials" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])')

rate() { grep '^BENCH' | sed 's/.*rps=\([0-9.]*\).*/\1/'; }
wrong() { grep '^BENCH' | sed 's/.*bad=\([0-9]*\).*/\1/'; }
sign_rates=() verify_rates=() code_rates=() credential_rates=() introspect_rates=() dpop_rates=() bad=0
for round in $(seq "$rounds"); do
    echo "== round $round/$rounds" >&2
    speed=$("$binary" speed --seconds "$duration")
    sign_rates+=("$(echo "$speed" | sed 's/.*mldsa65_sign_per_second=\([0-9.]*\).*/\1/')")
    verify_rates+=("$(echo "$speed" | sed 's/.*mldsa65_verify_per_second=\([0-9.]*\).*/\1/')")
    out=$(python3 scripts/bench/oidc_load.py code "$port" "$state" "$duration" "$processes" "$threads")
    code_rates+=("$(echo "$out" | python3 -c 'import json, sys; print(json.load(sys.stdin)["per_second"])')")
    bad=$((bad + $(echo "$out" | python3 -c 'import json, sys; print(json.load(sys.stdin)["bad"])')))
    out=$(QSPP_BENCH_PATH=/token QSPP_BENCH_BODY="$credentials" wrk -t 2 -c 16 -d "${duration}s" \
        -s scripts/bench/oauth-form.lua "http://127.0.0.1:$port")
    credential_rates+=("$(echo "$out" | rate)")
    bad=$((bad + $(echo "$out" | wrong)))
    out=$(QSPP_BENCH_PATH=/introspect QSPP_BENCH_BODY="$credentials&token=$machine_token" wrk -t 2 -c 16 \
        -d "${duration}s" -s scripts/bench/oauth-form.lua "http://127.0.0.1:$port")
    introspect_rates+=("$(echo "$out" | rate)")
    bad=$((bad + $(echo "$out" | wrong)))
    out=$(python3 scripts/bench/oidc_load.py dpop "$port" "$state" "$duration" "$processes" "$threads")
    dpop_rates+=("$(echo "$out" | python3 -c 'import json, sys; print(json.load(sys.stdin)["per_second"])')")
    bad=$((bad + $(echo "$out" | python3 -c 'import json, sys; print(json.load(sys.stdin)["bad"])')))
    echo "   sign ${sign_rates[-1]}/s verify ${verify_rates[-1]}/s | code ${code_rates[-1]}/s" \
        "credentials ${credential_rates[-1]}/s introspect ${introspect_rates[-1]}/s dpop ${dpop_rates[-1]}/s" >&2
done
sign=$(printf '%s\n' "${sign_rates[@]}" | median)
verify=$(printf '%s\n' "${verify_rates[@]}" | median)
code=$(printf '%s\n' "${code_rates[@]}" | median)
credential=$(printf '%s\n' "${credential_rates[@]}" | median)
introspect=$(printf '%s\n' "${introspect_rates[@]}" | median)
dpop=$(printf '%s\n' "${dpop_rates[@]}" | median)
echo "medians of $rounds rounds, $processes x $threads clients for code and DPoP, 16 connections for wrk:"
python3 - "$sign" "$verify" "$code" "$credential" "$introspect" "$dpop" <<'PY'
import sys
sign, verify, code, credential, introspect, dpop = map(float, sys.argv[1:])
print(f"ML-DSA-65 signs/s {sign:.0f}, verifies/s {verify:.0f}")
print(f"code exchanges/s {code:.1f}: {code / sign:.3f} of signs (two signatures each: at most 0.5)")
print(f"client-credentials tokens/s {credential:.1f}: {credential / sign:.3f} of signs")
print(f"introspections/s {introspect:.1f}: {introspect / verify:.3f} of verifies")
print(f"DPoP-bound reads/s {dpop:.1f}: {dpop / verify:.3f} of verifies")
PY
echo "answers that were wrong: $bad"
(( bad == 0 ))
