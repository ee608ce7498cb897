#!/usr/bin/env bash
# The shipped binary, as the container image holds it: built by scripts/dev/build-static.sh (as the
# Dockerfile does), copied alone with its resource bundles to an empty folder, started there on an
# empty SQLite store, and asked for /ready and a portal page. Prints its size, the closest proxy
# here for the image's size, and fails if it is above the size budget below; prints the shared
# libraries it still needs and how long it took from start to ready. The build stays in .build/static
# for scripts/check/cluster.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib/setup.sh
source scripts/lib/postgres.sh
qspp_build_dependencies
rm -rf .build/static
scripts/dev/build-static.sh .build/static
image=$(mktemp -d)
cp -r .build/static "$image/bin"
bin_unstripped="$(swift build -c release --static-swift-stdlib --product qspp --show-bin-path)/qspp"
port=$(qspp_free_port 19380)
started=$(date +%s%N)
# exec: the server is this background job itself, so the trap stops the server, not a subshell.
(cd "$image" && QSPP_DATABASE_URL="sqlite:$image/data/qspp.sqlite" QSPP_LOG_LEVEL=warning \
    exec bin/qspp serve --port "$port" >"$image/server.log" 2>&1) &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null || true; rm -rf "$image"' EXIT
mkdir -p "$image/data"
qspp_wait_ready "http://127.0.0.1:$port" "$server" "$image/server.log" 20
ready_ms=$((($(date +%s%N) - started) / 1000000))
curl -fsS "http://127.0.0.1:$port/login" | grep -q '<h1>Sign in</h1>'
bytes=$(stat -c %s "$image/bin/qspp")
echo "static binary: $bytes bytes ($(awk "BEGIN{printf \"%.1f\", $bytes/1048576}") MiB) stripped;" \
    "shared libraries: $(ldd "$image/bin/qspp" | awk '{print $1}' | sed 's/\.so.*//' | sort | tr '\n' ' ')"
# What a registry stores and sends is the gzip-compressed layer; ICU's data is the part that cannot go
# while swift-crypto, jwt-kit, ZIPFoundation and others import all of Foundation.
icu=$(nm -S "$bin_unstripped" 2>/dev/null | awk '$4 ~ /^icudt[0-9]+_dat$/ {print $2}' | head -n 1)
[ -n "$icu" ] && icu=$((16#$icu))
echo "gzip-compressed (as an image layer is stored): $(gzip -6 -c "$image/bin/qspp" | wc -c) bytes;" \
    "ICU data inside: ${icu:-unknown} bytes"
echo "cold start to ready on an empty store (migrations and a new signing key included): $ready_ms ms"
# The size budget: a regression ceiling, not the goal. The goal (issue #16) is under 60 MB, but the
# binary is about 101 MB today, 34 MB of it ICU's data tables, which come with Foundation: postgres-nio
# (and swift-crypto, jwt-kit, ZIPFoundation, swift-configuration) import all of Foundation
# unconditionally, so the data cannot go while we depend on them (docs/operations.md, "Image size").
# Lower the budget as that changes.
budget=110000000
if [ "$bytes" -gt "$budget" ]; then
    echo "the static binary is $bytes bytes, above its budget of $budget bytes" >&2
    exit 1
fi
echo "size budget: $bytes of $budget bytes"
