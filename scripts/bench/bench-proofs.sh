#!/usr/bin/env bash
# Transparency-log proof latency (issue #17), on a release build and a throwaway PostgreSQL cluster:
# the ledger is grown to 100,000 entries with ledger_append(), checkpointed (which integrates the
# tree), then 2,000 inclusion proofs at scattered entries are fetched over one keep-alive connection,
# and 2,000 GET /health as the reference floor of the same server and client, and 2,000 GET /ready,
# which makes one trivial database round trip, as the floor of any answer that reads the database.
# Usage: scripts/bench/bench-proofs.sh   (QSPP_BINARY picks the build, as in the other benchmarks)
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib/setup.sh
source scripts/lib/postgres.sh
source scripts/lib/bench.sh
qspp_bench_tools
binary=${QSPP_BINARY:-$(qspp_release_binary)}
qspp_bench_start "$binary" postgres
psql_bench() { qspp_as_postgres "$PG_BIN/psql" -h 127.0.0.1 -p "$BENCH_PORT" -U qspp -qAt "$@" postgres; }
psql_bench -c "SELECT count(*) FROM ledger_append(ARRAY(SELECT 'bench:' || g FROM generate_series(1, 100000) g), ARRAY(SELECT convert_to('{\"id\":\"' || g || '\"}', 'UTF8') FROM generate_series(1, 100000) g))" >/dev/null
"$binary" ledger checkpoint >/dev/null
urls=()
health=()
ready=()
for i in $(seq 1 2000); do
    urls+=(-o /dev/null "http://127.0.0.1:$port/v1/ledger/inclusion?seq=$(( (i * 7919) % 100000 + 1 ))&size=100000")
    health+=(-o /dev/null "http://127.0.0.1:$port/health")
    ready+=(-o /dev/null "http://127.0.0.1:$port/ready")
done
curl -s -w "%{time_total}\n" "${urls[@]}" > "$bench_workdir/proof-times.txt"
sort -n "$bench_workdir/proof-times.txt" | awk '{a[NR]=$1} END {printf "inclusion proofs: %d requests, median %.3f ms, p99 %.3f ms\n", NR, a[int(NR/2)]*1000, a[int(NR*0.99)]*1000}'
curl -s -w "%{time_total}\n" "${health[@]}" | sort -n | awk '{a[NR]=$1} END {printf "reference GET /health: median %.3f ms, p99 %.3f ms\n", a[int(NR/2)]*1000, a[int(NR*0.99)]*1000}'
curl -s -w "%{time_total}\n" "${ready[@]}" | sort -n | awk '{a[NR]=$1} END {printf "reference GET /ready (one database round trip): median %.3f ms, p99 %.3f ms\n", a[int(NR/2)]*1000, a[int(NR*0.99)]*1000}'
