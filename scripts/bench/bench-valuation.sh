#!/usr/bin/env bash
# Exact KNN-Shapley against pyDVL on the same machine, in one invocation: builds qspp in release
# mode, installs pyDVL (test and benchmark only) if missing, and prints a Markdown table of compute
# time, wall time, peak RSS, speed-up and the largest difference between the two sets of values.
#
# usage: scripts/bench/bench-valuation.sh [N ...]   (default: 10000 100000; 1000 validation points, d = 32)
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib/setup.sh
qspp_python_test_tools
swift build -c release --product qspp >/dev/null
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(10000 100000)
python3 scripts/bench/knn_shapley_bench.py "$(swift build -c release --show-bin-path)/qspp" "${sizes[@]}"
