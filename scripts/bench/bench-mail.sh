#!/usr/bin/env bash
# The mail outbox: delivery rate and lag, through a release qspp on a throwaway PostgreSQL cluster, to
# a real SMTP server (aiosmtpd, STARTTLS and AUTH, as in the tests). In one invocation:
#   1. the reference: Python's smtplib submits messages to the same relay as QSPP does (a connection
#      per message, STARTTLS, AUTH, 8 at a time): the relay's ceiling on this machine;
#   2. ACCOUNTS registrations (a confirmation link each), then reset requests for BURST of them as
#      fast as they go: the rate at which the outbox drains a burst, against the reference;
#   3. reset requests for others at RATE per second for SECONDS seconds: the lag from each request's
#      acknowledgement (its transaction committed) to the relay accepting the message, p50 and p99.
# Usage: scripts/bench/bench-mail.sh [accounts 3000] [burst 1000] [rate 100] [seconds 20]
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib/setup.sh
source scripts/lib/postgres.sh
source scripts/lib/bench.sh
accounts=${1:-3000}
burst=${2:-1000}
rate=${3:-100}
seconds=${4:-20}
(( accounts >= burst + rate * seconds )) || { echo "need at least burst + rate x seconds accounts" >&2; exit 2; }

qspp_python_test_tools
qspp_find_pg_bin
binary=${QSPP_BINARY:-$(qspp_release_binary)}

relay_dir=$(mktemp -d)
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=localhost \
    -addext subjectAltName=DNS:localhost -keyout "$relay_dir/key.pem" -out "$relay_dir/cert.pem" 2>/dev/null
mkdir "$relay_dir/received"
python3 -W ignore::DeprecationWarning Tests/Interop/smtp_server.py starttls "$relay_dir/cert.pem" \
    "$relay_dir/key.pem" "$relay_dir/received" >"$relay_dir/port" 2>"$relay_dir/relay.log" &
relay=$!
trap 'kill $relay 2>/dev/null; rm -rf "$relay_dir"; qspp_bench_stop' EXIT
for _ in $(seq 50); do [ -s "$relay_dir/port" ] && break; sleep 0.1; done
relay_port=$(head -n 1 "$relay_dir/port")

echo "== reference: smtplib, $burst messages to the relay" >&2
reference=$(python3 scripts/bench/smtp_reference.py "$relay_port" "$relay_dir/cert.pem" "$burst")
rm -f "$relay_dir/received"/*.json

export QSPP_SMTP_URL="smtp://mailer:s3cret%20pass@localhost:$relay_port" QSPP_SMTP_CA_FILE="$relay_dir/cert.pem" \
    QSPP_MAIL_FROM=privacy@qspp.example
qspp_bench_start "$binary" postgres
trap 'kill $relay 2>/dev/null; rm -rf "$relay_dir"; qspp_bench_stop' EXIT

echo "== qspp: $accounts registrations, a burst of $burst reset requests, then $rate per second for ${seconds}s" >&2
result=$(python3 scripts/bench/mail_load.py "$port" "$relay_dir/received" "$accounts" "$burst" "$rate" "$seconds")
echo "$result"
python3 - "$result" "$reference" <<'PY'
import json, sys
result, reference = json.loads(sys.argv[1]), float(sys.argv[2])
print(f"reference (smtplib, 8 at a time): {reference} messages/s")
print(f"outbox drain of a burst of {result['burst']}: {result['burst_drain_per_s']} messages/s "
      f"(ratio {result['burst_drain_per_s'] / reference:.2f} of the reference)")
print(f"at {result['achieved_rate']} requests/s: lag p50 {result['lag_p50_ms']} ms, p99 {result['lag_p99_ms']} ms, "
      f"max {result['lag_max_ms']} ms; {result['missing']} of {result['messages']} missing")
PY
