#!/usr/bin/env bash
# Speed and memory of the streamed exports (issue 13), through gunicorn on PostgreSQL with the
# production settings (bench/serve.sh), on the database of bench/load_benchmark.sh (build it
# first: DATA_ONLY=1 bash bench/load_benchmark.sh). Usage:
#   bash bench/export_benchmark.sh                       # 1,000,000 incidents
#   COUNT=100000 FILTER='sector=healthcare' bash bench/export_benchmark.sh
#   PUBLIC_MIB=100 RUNS=1 bash bench/export_benchmark.sh  # the first 100 MiB of the public CSV
#   SNAPSHOT=0 ...   # without the whole public catalogue file (written, then downloaded)
#   MEMBER_ALL=1 SNAPSHOT=0 RUNS=0 MEMBER=0 ...   # only a member's CSV of the unfiltered finder
# Each row is one download by bench/export_client.py: time to the headers and to the first
# body byte, rows (parsed from what arrived), rows/s, and the resident memory of the gunicorn
# workers sampled every 0.1 s (growth: the highest sample minus the one before the request,
# for the worker that grew most). Before the rows, a few small exports are run in parallel so
# that both workers have loaded their code. The export quotas are lifted for the run
# (EXPORT_ROWS_PER_DAY, EXPORT_PUBLIC_ROWS_PER_DAY). Results: bench/results/export-<date>.md.
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT=${COUNT:-1000000}
DB=${BENCH_DB:-portal_bench_${COUNT}}
PG=${PG:-postgres://postgres@127.0.0.1:5432}
PORT=${PORT:-8099}
FILTER=${FILTER:-sector=healthcare&year=2020}  # the members' CSV, JSON and STIX exports
RUNS=${RUNS:-2}  # downloads of the whole public CSV
PUBLIC_MIB=${PUBLIC_MIB:-0}  # hang up after this many MiB of the public CSV (0: all of it)
MEMBER=${MEMBER:-1}  # 0: the public CSV only
SNAPSHOT=${SNAPSHOT:-1}  # 0: not the whole-catalogue file (/data/incidents.csv)
PY=.venv/bin/python

export DATABASE_URL="$PG/$DB"
export EXPORT_ROWS_PER_DAY=1000000000 EXPORT_PUBLIC_ROWS_PER_DAY=1000000000
# Streamed, not emailed, however many rows (a member's export above the threshold is queued).
export EXPORT_EMAIL_THRESHOLD=1000000000
# The plans' own daily rows (which a member's quota follows) lifted too, in this database only.
psql "$DATABASE_URL" -qc "UPDATE accounts_plan SET export_rows_per_day = NULL"
export REDIS_URL=${REDIS_URL-redis://127.0.0.1:6379/1} CACHE_KEY_PREFIX=bench-export-$COUNT-$$
GUNICORN_LOG=${GUNICORN_LOG:-/tmp/bench-export-gunicorn.log}
# shellcheck source=bench/serve.sh
source bench/serve.sh
WORKERS=$(pgrep -P "$GPID" | paste -sd, -)
BASE="http://127.0.0.1:$PORT/incidents/export"

# Warm-up: small exports of each kind, in parallel, so each worker has imported its code.
for _ in 1 2 3; do
    for fmt in csv json stix.json; do
        echo "$BASE.$fmt?year=2024&country=FR"
    done
done | xargs -P 4 -I{} curl -fs -o /dev/null -H "Cookie: sessionid=$SESSION" "{}"

OUT=bench/results/export-$(date +%Y-%m-%d-%H%M).md
mkdir -p bench/results
SELECTED=$(psql "$DATABASE_URL" -tAc "SELECT count(*) FROM incidents_incident WHERE status='published'")
{
echo "Run $(date -u +%FT%TZ), $DB ($SELECTED published incidents), gunicorn gthread ($(nproc) cores, workers $WORKERS), members' filter: $FILTER."
echo
echo "| export | rows | MiB | headers / first byte / first rows s | seconds | rows/s | RSS growth MiB (worker before -> peak) | load average |"
echo "|---|---|---|---|---|---|---|---|"
} | tee "$OUT"

measure() {  # label url format cookie [MiB]
    local load
    load=$(cut -d' ' -f1-3 /proc/loadavg)
    "$PY" bench/export_client.py "$2" --workers "$WORKERS" --format "$3" --cookie "$4" \
        --label "$1" --stop-after-mib "${5:-0}" > /tmp/bench-export-row.json
    "$PY" - "$load" <<'EOF' | tee -a "$OUT"
import json, sys
r = json.load(open("/tmp/bench-export-row.json"))
if r["status"] != 200:
    print(f"| {r['label']} | HTTP {r['status']}: {r.get('body', '')[:120]} | | | | | | {sys.argv[1]} |")
    sys.exit()
pid = max(r["rss_peak_mib"], key=lambda p: r["rss_peak_mib"][p] - r["rss_before_mib"][p])
print(f"| {r['label']} | {'about ' if r['partial'] else ''}{r['rows']:,} | {r['mib']:,} | {r['headers_s']} / {r['first_byte_s']} / {r['first_rows_s']} "
      f"| {r['seconds']} | {r['rows_per_s']:,} | {r['rss_growth_mib']} "
      f"({r['rss_before_mib'][pid]} -> {r['rss_peak_mib'][pid]}) | {sys.argv[1]} |")
EOF
    cat /tmp/bench-export-row.json >> "${OUT%.md}.jsonl"
}

if [ "$SNAPSHOT" != 0 ]; then
    # The whole public catalogue as one file (incidents.exports.snapshot): written once for
    # this catalogue (what the job queue does when the file falls behind), then downloaded.
    load=$(cut -d' ' -f1-3 /proc/loadavg)
    made=$("$PY" manage.py build_public_snapshots --format csv)
    echo "| writing the whole public catalogue file: $made | | | | | | | $load |" | tee -a "$OUT"
    for run in $(seq "$RUNS"); do
        measure "whole public catalogue file (/data/incidents.csv), run $run" \
            "http://127.0.0.1:$PORT/data/incidents.csv" csv ""
    done
fi
for run in $(seq "$RUNS"); do
    if [ "$PUBLIC_MIB" != 0 ]; then
        measure "public CSV of all rows (visitor), its first $PUBLIC_MIB MiB, run $run" \
            "$BASE.csv" csv "" "$PUBLIC_MIB"
    else
        measure "public CSV, all rows (visitor), run $run" "$BASE.csv" csv ""
    fi
done
if [ -n "${MEMBER_ALL:-}" ]; then
    measure "member CSV, all rows (the unfiltered finder)" "$BASE.csv" csv "sessionid=$SESSION"
fi
[ "$MEMBER" = 0 ] && exit 0
measure "member CSV, $FILTER" "$BASE.csv?$FILTER" csv "sessionid=$SESSION"
measure "member JSON, $FILTER" "$BASE.json?$FILTER" json "sessionid=$SESSION"
measure "member STIX 2.1, $FILTER" "$BASE.stix.json?$FILTER" stix "sessionid=$SESSION"
echo
echo "Written to $OUT (and each download's samples in ${OUT%.md}.jsonl)"
