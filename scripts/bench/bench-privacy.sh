#!/usr/bin/env bash
# Privacy benchmark (issue #4), on a release build and a throwaway PostgreSQL cluster:
#   1. export time, archive size and qspp's RSS growth for people with 1k, 10k and 100k consent
#      events (loaded through the real batch API), and the time to erase each;
#   2. ledger verification rate: the ledger is grown to ENTRIES entries, each a consent row and its
#      entry made with PostgreSQL's own ledger_append(), checkpointed (the CPU per entry of integrating
#      them into the Merkle tree is printed), and `qspp ledger verify` is timed.
# Usage: scripts/bench/bench-privacy.sh [ledger entries, default 1000000]
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib/setup.sh
source scripts/lib/postgres.sh
source scripts/lib/admin.sh
source scripts/lib/bench.sh
entries=${1:-1000000}

qspp_bench_tools
binary=${QSPP_BINARY:-$(qspp_release_binary)}

qspp_bench_start "$binary" postgres
admin=$(qspp_admin_token "$binary" "$port")

echo "events  export_s  archive_bytes  rss_growth_kib  erasure_s"
for events in 1000 10000 100000; do
    python3 scripts/bench/privacy_load.py "$port" "$admin" "$events" "$server_pid"
done
echo "qspp RSS after the exports: $(awk '/VmRSS/ {print int($2 / 1024)}' "/proc/$server_pid/status") MiB"

psql_bench() { qspp_as_postgres "$PG_BIN/psql" -h 127.0.0.1 -p "$BENCH_PORT" -U qspp -qAt "$@" postgres; }
have=$(psql_bench -c "SELECT size FROM ledger_head")
# Real consent rows, each with its entry, so that verification binds every row to its entry as it
# does in production (the content is the canonical form the server writes).
while [ "$have" -lt "$entries" ]; do
    batch=$((entries - have < 50000 ? entries - have : 50000))
    psql_bench -c "WITH ids AS MATERIALIZED (SELECT g, gen_random_uuid() AS id FROM generate_series(1, $batch) g),
        appended AS (SELECT * FROM ledger_append(
            ARRAY(SELECT 'consent:' || id FROM ids ORDER BY g),
            ARRAY(SELECT convert_to('{\"decision\":\"granted\",\"id\":\"' || id || '\",\"method\":\"api\",\"notice_version\":\"1\",\"purpose\":\"marketing\",\"recorded_at\":\"1764096000000000\",\"subject\":\"bench-' || id || '\",\"type\":\"consent\"}', 'UTF8') FROM ids ORDER BY g)))
        INSERT INTO consent_events (id, subject_id, purpose_id, decision, notice_version, method, recorded_at, ledger_seq)
        SELECT id, 'bench-' || id, 'marketing', 'granted', 1, 'api', to_timestamp(1764096000), appended.entry_seq
        FROM ids JOIN appended ON appended.entry_ord = ids.g" >/dev/null
    have=$(psql_bench -c "SELECT size FROM ledger_head")
done
# The checkpoint integrates every entry into the Merkle tree, as housekeeping does each minute in
# production: its CPU per entry, qspp's and PostgreSQL's, is what the tree adds to each consent write.
busy() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8}' /proc/stat; }
before=$(busy)
/usr/bin/time -f "%U %S" -o "$bench_workdir/integrate.time" "$binary" ledger checkpoint >/dev/null
after=$(busy)
awk -v n="$have" -v ticks="$((after - before))" -v hz="$(getconf CLK_TCK)" '{
    qspp = $1 + $2; all = ticks / hz
    printf "tree integration of %d entries: qspp %.1f us, PostgreSQL and the rest of the machine %.1f us of CPU per entry\n",
        n, qspp / n * 1e6, (all - qspp) / n * 1e6 }' "$bench_workdir/integrate.time"
echo "ledger verification of $have entries:"
"$binary" ledger verify
