#!/usr/bin/env bash
# Import speed: ATT&CK and the 9,427 validated VCDB incidents, first import and
# re-import, on a fresh SQLite file and a fresh PostgreSQL database. Prints wall
# time, CPU time (user+system: what counts when other work shares the cores) and peak
# RSS of each command. Usage: [BENCH_DB=name] bash bench/import_benchmark.sh [DATA_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${1:-../shared/data}
PG_ADMIN=${PG_ADMIN:-postgres://postgres@127.0.0.1:5432/postgres}
BENCH_DB=${BENCH_DB:-import_bench}
PY=.venv/bin/python
export DJANGO_DEBUG=1

run() {  # label, command...
    local label=$1; shift
    /usr/bin/time -f "$label: %e s (CPU %U s user + %S s sys), peak RSS %M KB" "$@" > /tmp/import-bench.log 2>/tmp/import-bench.time \
        || { cat /tmp/import-bench.log /tmp/import-bench.time; exit 1; }
    tail -1 /tmp/import-bench.log | sed 's/^/    /'
    tail -1 /tmp/import-bench.time
}

bench() {  # database label
    echo "== $1"
    $PY manage.py migrate -v0
    $PY manage.py seed_demo --quiet-accounts > /dev/null
    for pass in first re-import; do
        run "ATT&CK $pass" $PY manage.py import_attack "$DATA/attack/stix/enterprise-attack.json" --release 18.1
        run "VCDB $pass" $PY manage.py import_veris "$DATA/vcdb/vcdb_validated.jsonl" \
            --attack-mapping "$DATA/veris/master/veris-1.4.0_attack-16.1-enterprise.csv" --publish
    done
}

SQLITE=$(mktemp -d)/bench.sqlite3
DATABASE_URL="sqlite:///$SQLITE" bench "SQLite"
rm -f "$SQLITE"

psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS $BENCH_DB" -qc "CREATE DATABASE $BENCH_DB"
DATABASE_URL="${PG_ADMIN%/*}/$BENCH_DB" bench "PostgreSQL"
psql "$PG_ADMIN" -qc "DROP DATABASE $BENCH_DB"
