#!/usr/bin/env bash
# Passkey sign-ins against raw ES256 verifies, in one invocation, on a release build against a
# throwaway PostgreSQL cluster, alternating for several rounds (medians compared, as this machine's
# speed drifts):
#   reference  `qspp speed`: raw ES256 (P-256 ECDSA, DER) verifies per second on all cores;
#   sign-ins   scripts/bench/passkey_load.py: passwordless sign-ins through the API (options, then the
#              answer: the challenge taken, the signature and counter checked, a session and tokens
#              made), by clients on the same cores that sign each challenge with the cryptography
#              package.
# Usage: scripts/bench/bench-passkeys.sh [seconds per run, default 10] [rounds, default 3]
#        [accounts, default 64] [client processes, default 2] [clients per process, default 8]
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib/setup.sh
source scripts/lib/postgres.sh
source scripts/lib/bench.sh
duration=${1:-10}
rounds=${2:-3}
accounts=${3:-64}
processes=${4:-2}
threads=${5:-8}

qspp_python_test_tools
qspp_find_pg_bin
binary=${QSPP_BINARY:-$(qspp_release_binary)}
qspp_bench_start "$binary" postgres

verify_rates=() sign_in_rates=() bad=0
for round in $(seq "$rounds"); do
    echo "== round $round/$rounds" >&2
    speed=$("$binary" speed --seconds "$duration")
    verify_rates+=("$(echo "$speed" | sed 's/.*es256_verify_per_second=\([0-9.]*\).*/\1/')")
    out=$(python3 scripts/bench/passkey_load.py "$port" "$accounts" "$duration" "$processes" "$threads")
    sign_in_rates+=("$(echo "$out" | python3 -c 'import json, sys; print(json.load(sys.stdin)["sign_ins_per_second"])')")
    bad=$((bad + $(echo "$out" | python3 -c 'import json, sys; print(json.load(sys.stdin)["bad"])')))
    echo "   es256 verify ${verify_rates[-1]}/s | passkey sign-ins ${sign_in_rates[-1]}/s" >&2
done
verify=$(printf '%s\n' "${verify_rates[@]}" | median)
sign_ins=$(printf '%s\n' "${sign_in_rates[@]}" | median)
echo "es256 verifies/s (median of $rounds): $verify"
echo "passkey sign-ins/s (median of $rounds): $sign_ins ($accounts accounts, $processes x $threads clients)"
python3 -c "print(f'ratio sign-ins/verifies: {$sign_ins / $verify:.4f} (1 in {$verify / $sign_ins:.0f})')"
echo "answers that were not 200: $bad"
(( bad == 0 ))
