#!/usr/bin/env bash
# Property-based fuzzing of the whole HTTP API from its OpenAPI document, with schemathesis (PyPI,
# test-only): no generated request may get a 5xx, and every answer must match the document.
# Usage: scripts/check/fuzz-api.sh [max examples per operation, default 60]
# QSPP_BINARY names the qspp to run (default: a release build); QSPP_FUZZ_SEED fixes the cases
# (default 20261125), so a run can be repeated exactly. QSPP_FUZZ_PORT fuzzes a server already running
# on that loopback port with the current QSPP_* environment (scripts/check/split.sh), whose logs the caller checks.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib/setup.sh
source scripts/lib/admin.sh
examples=${1:-60}
command -v st >/dev/null || python3 -m pip install --quiet --disable-pip-version-check schemathesis==4.32.5
binary=${QSPP_BINARY:-$(qspp_release_binary)}
workdir=$(mktemp -d)
if [ -n "${QSPP_FUZZ_PORT:-}" ]; then
    port=$QSPP_FUZZ_PORT
    server=
    trap 'rm -rf "$workdir"' EXIT
    touch "$workdir/server.log"
else
    port=$((20000 + RANDOM % 5000))
    export QSPP_LOG_LEVEL=warning QSPP_DATABASE_URL="sqlite:$workdir/qspp.sqlite" QSPP_LOGIN_RATE_LIMIT=1000000 \
        QSPP_REGISTER_RATE_LIMIT=1000000 QSPP_MFA_RATE_LIMIT=1000000 QSPP_RATE_LIMIT_GLOBAL=100000000 \
        QSPP_RATE_LIMIT_CONSENT=100000000 QSPP_RATE_LIMIT_COSTLY=100000000
    "$binary" serve --port "$port" >"$workdir/server.log" 2>&1 &
    server=$!
    trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$workdir"' EXIT
fi
qspp_wait_ready "http://127.0.0.1:$port" "${server:-}" "$workdir/server.log"
token=$(qspp_admin_token "$binary" "$port")
# Operations that end the fuzzer's own session are left out, or every later request would be a 401.
st run "http://127.0.0.1:$port/openapi.json" -H "Authorization: Bearer $token" --max-examples "$examples" \
    --seed "${QSPP_FUZZ_SEED:-20261125}" \
    --exclude-operation-id-regex '^(logout|revokeUserSessions|revokeUserSession|revokeMySession|deleteAccount|changePassword)$' \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
    --phases fuzzing,stateful
if grep -q '"unhandled error"' "$workdir/server.log"; then
    echo "the server logged unhandled errors:" >&2
    grep '"unhandled error"' "$workdir/server.log" >&2
    exit 1
fi
