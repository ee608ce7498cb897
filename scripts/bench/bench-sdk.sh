#!/usr/bin/env bash
# The website consent SDK: its size, and its time to a first banner in headless Chromium on a site of
# another origin, against a reference page that fetches the same banner with one inline script
# (scripts/bench/sdk_banner.py), alternating, on one release build and SQLite database.
# Usage: scripts/bench/bench-sdk.sh [rounds, default 15]
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib/setup.sh
source scripts/lib/postgres.sh
source scripts/lib/bench.sh
source scripts/lib/admin.sh
rounds=${1:-15}
qspp_apt_install chromium chromium-driver
python3 -c 'import selenium' 2>/dev/null ||
    python3 -m pip install --quiet --disable-pip-version-check selenium==4.51.0
binary=${QSPP_BINARY:-$(qspp_release_binary)}
qspp_bench_start "$binary" sqlite
admin=$(qspp_admin_token "$binary" "$port")
python3 scripts/bench/sdk_banner.py "http://127.0.0.1:$port" "$admin" "$rounds"
