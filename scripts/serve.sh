#!/usr/bin/env bash
# Builds and runs the portal on the embedded SQLite default (./data/qspp.sqlite), installing the one
# C library the build needs (libargon2-dev) if it is missing. Extra arguments go to `qspp serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/setup.sh
qspp_build_dependencies
exec swift run -c release qspp serve "$@"
