#!/usr/bin/env bash
# The release build that ships: one binary with the Swift runtime linked in (--static-swift-stdlib),
# stripped, with its resource bundles beside it. The Dockerfile runs exactly this script, and so does
# the test command, which then starts the result from its own folder.
# Usage: scripts/dev/build-static.sh [output folder, default .build/static]
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-.build/static}
flags=(-c release --static-swift-stdlib --product qspp)
swift build "${flags[@]}" >&2
bin=$(swift build "${flags[@]}" --show-bin-path)
mkdir -p "$out"
install -m 0755 "$bin/qspp" "$out/qspp"
strip "$out/qspp"
for bundle in "$bin"/*.resources; do
    rm -rf "$out/$(basename "$bundle")"
    cp -R "$bundle" "$out/"
done
echo "$out/qspp: $(stat -c %s "$out/qspp") bytes" >&2
