#!/usr/bin/env bash
# Runs the whole test suite: every test against the embedded SQLite store and against a throwaway
# PostgreSQL 15 cluster that this script starts and removes. Installs what it needs first if missing:
# PostgreSQL, libargon2-dev, zbar-tools, openssl, golang-go with golang-golang-x-mod-dev, chromium and
# chromium-driver from apt, and the test-only pyotp, dilithium-py, pyDVL, aiosmtpd, standardwebhooks, schemathesis,
# selenium and axe-selenium-python from PyPI. Without arguments it
# ends by fuzzing the API from its OpenAPI document, driving the portal in a real browser, checking the
# deployment files and the static binary, and running a three-replica cluster under faults.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/setup.sh
source scripts/lib/postgres.sh

# The layering and docs/architecture.md's target table against Package.swift: seconds, so first.
python3 scripts/check/check-architecture.py
qspp_find_pg_bin || { qspp_apt_install postgresql; qspp_find_pg_bin; }
qspp_build_dependencies
qspp_python_test_tools
# An independent QR decoder, for the QR codes the MFA set-up draws.
command -v zbarimg >/dev/null || qspp_apt_install zbar-tools
# The mail tests' SMTP server gets a throwaway certificate from the openssl command.
command -v openssl >/dev/null || qspp_apt_install openssl
# Go's checksum-database packages (sumdb/note, sumdb/tlog), which check the transparency log's notes
# and proofs in TransparencyLogTests: built offline from Debian's packages.
qspp_apt_install golang-go golang-golang-x-mod-dev

clusters=()
cleanup() {
    local dir
    for dir in "${clusters[@]}"; do qspp_pg_stop "$dir"; done
}
trap cleanup EXIT

qspp_pg_start MAIN
clusters+=("$MAIN_DIR")
# A second cluster that one test stops and starts, to prove the server rides out a database outage.
qspp_pg_start OUTAGE
clusters+=("$OUTAGE_DIR")

export QSPP_TEST_POSTGRES_URL="$MAIN_URL"
export QSPP_TEST_REQUIRE_POSTGRES=1
export QSPP_TEST_OUTAGE_POSTGRES_URL="$OUTAGE_URL"
export QSPP_TEST_OUTAGE_STOP="$(declare -f qspp_as_postgres); qspp_as_postgres '$PG_BIN/pg_ctl' -D '$OUTAGE_DIR/data' -m fast -w stop"
export QSPP_TEST_OUTAGE_START="$(declare -f qspp_as_postgres); qspp_as_postgres '$PG_BIN/pg_ctl' -D '$OUTAGE_DIR/data' -l '$OUTAGE_DIR/server.log' -w -o '-p $OUTAGE_PORT -k $OUTAGE_DIR -c listen_addresses=127.0.0.1' start"

# Instrumented for line coverage: the test bundle, and every qspp process the tests start, add their
# counts to a profile of their own, which scripts/check/coverage.py merges at the end.
swift build --build-tests --enable-code-coverage
profiles="$PWD/.build/coverage"
rm -rf "$profiles" && mkdir -p "$profiles"
export LLVM_PROFILE_FILE="$profiles/%p.profraw"
# At most four tests at once: with every test free to run in parallel on two cores, CPU-heavy suites
# (Argon2id, valuation, pyDVL) starved the PostgreSQL tests past their 5 s database deadline; at six,
# once the replica and tracing tests came, that still happened in one CI run of two.
export SWT_EXPERIMENTAL_MAXIMUM_PARALLELIZATION_WIDTH=${SWT_EXPERIMENTAL_MAXIMUM_PARALLELIZATION_WIDTH:-4}
bin="$(swift build --show-bin-path)"
export QSPP_BINARY="$bin/qspp"
log=$(mktemp)
set +e
if [ $# -eq 0 ]; then
    # The valuation suite (pyDVL in Python, Shapley values on every core) runs on its own: beside it,
    # database tests on two cores were starved past their 5 s deadline (CI, 2026-11-26).
    swift test --skip-build --skip ValuationTests 2>&1 | tee "$log"
    status=${PIPESTATUS[0]}
    swift test --skip-build --filter ValuationTests 2>&1 | tee -a "$log"
    [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
else
    swift test --skip-build "$@" 2>&1 | tee "$log"
    status=${PIPESTATUS[0]}
fi
if [ $# -eq 0 ]; then
    # The same API suite again in the split topology: for each test, the consent, auth and valuation
    # roles and a gateway in front of them, four live servers on loopback (PostgreSQL cases only).
    split_log=$(mktemp)
    QSPP_TEST_TOPOLOGY=split swift test --skip-build --filter AppTests \
        --skip 'Replica|TLS|Tracing|ServerProcess|SplitGateway|WebhookDelivery' 2>&1 | tee "$split_log"
    [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
    split_passed=$(sed -n 's/.*Test run with \([0-9]*\) tests\{0,1\} in .* passed .*/\1/p' "$split_log" | tail -n 1)
    rm -f "$split_log"
fi
# Then the whole API from its OpenAPI document: no 5xx, every answer as documented (schemathesis).
# And the web portal in headless Chromium, with axe on every page (screenshots in .build/e2e-screenshots).
if [ $# -eq 0 ]; then
    scripts/check/fuzz-api.sh 25 || status=1
    scripts/check/e2e-portal.sh || status=1
    # The deployment files, and the shipped binary built as the Dockerfile builds it.
    python3 scripts/check/check-deploy.py || status=1
    scripts/check/check-static.sh || status=1
    # Three replicas of that binary behind nginx on one PostgreSQL, under faults: nothing acknowledged lost.
    QSPP_BINARY=.build/static/qspp scripts/check/cluster.sh 3 || status=1
    # And split into its four roles as separate processes: the fuzzer through the gateway, an upstream down.
    QSPP_BINARY=.build/static/qspp scripts/check/split.sh 25 || status=1
    # Line coverage of everything above that ran the debug build; key, erasure and retention code has a floor.
    python3 scripts/check/coverage.py "$profiles" "$bin/qsppPackageTests.xctest" "$QSPP_BINARY" || status=1
fi
set -e
# XCTest's "Executed 0 tests" lines are noise here: every test is a Swift Testing test. Close with the count.
passed=$(sed -n 's/.*Test run with \([0-9]*\) tests\{0,1\} in .* passed .*/\1/p' "$log" | awk '{ total += $1 } END { if (NR) print total }')
rm -f "$log"
if [ "$status" -eq 0 ] && [ -n "$passed" ]; then
    echo "$passed passed, 0 failed"
    if [ -n "${split_passed:-}" ]; then echo "split topology: $split_passed passed, 0 failed"; fi
fi
exit "$status"
