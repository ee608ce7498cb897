#!/usr/bin/env bash
# The web portal, and the website consent SDK on a site of another origin, in a real browser: headless
# Chromium (Debian's chromium and chromium-driver) driven by Selenium, with axe-core (axe-selenium-python)
# on every page, against a running `qspp serve` on an empty SQLite store. Installs what it needs if missing.
# Usage: scripts/check/e2e-portal.sh [screenshot directory, default .build/e2e-screenshots]
# QSPP_BINARY names the qspp to run (default: a release build).
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib/setup.sh
shots=${1:-.build/e2e-screenshots}
# zbar-tools: zbarimg reads the MFA set-up's QR code back from a screenshot.
qspp_apt_install chromium chromium-driver zbar-tools
python3 -c 'import selenium, axe_selenium_python, pyotp, dilithium_py' 2>/dev/null ||
    python3 -m pip install --quiet --disable-pip-version-check selenium==4.51.0 axe-selenium-python==2.1.6 \
        pyotp==2.12.1 dilithium-py==1.5.1
# Only for its current axe-core (axe.min.js); Playwright itself is not used, so not installed.
python3 -c 'import axe_playwright_python' 2>/dev/null ||
    python3 -m pip install --quiet --disable-pip-version-check --no-deps axe-playwright-python==0.1.8
binary=${QSPP_BINARY:-$(qspp_release_binary)}
workdir=$(mktemp -d)
port=$((25000 + RANDOM % 5000))
export QSPP_LOG_LEVEL=warning QSPP_DATABASE_URL="sqlite:$workdir/qspp.sqlite" QSPP_MAIL_DIRECTORY="$workdir/mail"
# The URL the browser uses is the issuer: relying parties check it in every answer (RFC 9207).
export QSPP_TOKEN_ISSUER="http://localhost:$port"
# The flows sign in more than five times within a minute from one address; the limit has tests of its own.
export QSPP_LOGIN_RATE_LIMIT=30
admin_email="admin@e2e.qspp.test"
admin_password="admin-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
QSPP_ADMIN_PASSWORD="$admin_password" "$binary" migrate >/dev/null
QSPP_ADMIN_PASSWORD="$admin_password" "$binary" users create-admin --email "$admin_email" >/dev/null
"$binary" serve --port "$port" >"$workdir/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$workdir"' EXIT
qspp_wait_ready "http://127.0.0.1:$port" "$server" "$workdir/server.log"
# localhost, not 127.0.0.1: browsers treat it as a secure context, so they keep the Secure cookies.
python3 scripts/check/e2e/portal_e2e.py "http://localhost:$port" "$admin_email" "$admin_password" "$shots" \
    "$workdir/mail"
# And the website consent SDK on a site of another origin, against the same server.
python3 scripts/check/e2e/sdk_e2e.py "http://localhost:$port" "$admin_email" "$admin_password" "$shots" \
    "$workdir/mail"
if grep -q '"unhandled error"' "$workdir/server.log"; then
    echo "the server logged unhandled errors:" >&2
    grep '"unhandled error"' "$workdir/server.log" >&2
    exit 1
fi
