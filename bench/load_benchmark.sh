#!/usr/bin/env bash
# Latency and throughput of the main pages at scale, against gunicorn on PostgreSQL,
# measured with wrk (Debian package) in one run, each page as a ratio of a hello-world
# baseline served by the same gunicorn. Usage:
#   bash bench/load_benchmark.sh                 # 1,000,000 synthetic incidents (made once)
#   COUNT=100000 DURATION=10s bash bench/load_benchmark.sh
#   ONLY='statistics|hub' bash bench/load_benchmark.sh   # the baseline and the rows matching
#   DATA_ONLY=1 bash bench/load_benchmark.sh     # build the benchmark database and stop
#   PAGES_CACHE_OFF=1 ONLY='list page 1|filtered|common term|first visits' bash bench/load_benchmark.sh
#                                                # nothing kept between requests (a dummy pages cache)
# Results: a table on stdout and in bench/results/load-<date>.md (not committed).
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT=${COUNT:-1000000}
DB=${BENCH_DB:-portal_bench_${COUNT}}
PG=${PG:-postgres://postgres@127.0.0.1:5432}
PORT=${PORT:-8099}
DURATION=${DURATION:-30s}
CONNECTIONS=${CONNECTIONS:-16}
DATA=${DATA:-../shared/data}
PY=.venv/bin/python
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install -y wrk"; exit 1; }

export DATABASE_URL="$PG/$DB"
dev() { DJANGO_DEBUG=1 "$PY" manage.py "$@"; }

if ! psql "$PG/postgres" -tAc "SELECT 1 FROM pg_database WHERE datname='$DB'" | grep -q 1; then
    psql "$PG/postgres" -qc "CREATE DATABASE $DB"
fi
dev migrate -v0
dev seed_demo --quiet-accounts > /dev/null
if [ -f "$DATA/attack/stix/enterprise-attack.json" ]; then
    dev import_attack "$DATA/attack/stix/enterprise-attack.json" --release 18.1 > /dev/null
fi
have=$(psql "$DATABASE_URL" -tAc "SELECT count(*) FROM incidents_incident")
if [ "$have" -lt "$COUNT" ]; then
    echo "Generating $((COUNT - have)) synthetic incidents (have $have)..."
    /usr/bin/time -f "generate_incidents: %e s, peak RSS %M KB" \
        env DJANGO_DEBUG=1 "$PY" manage.py generate_incidents --count $((COUNT - have))
fi
psql "$DATABASE_URL" -qc "VACUUM ANALYZE"
if [ -n "${DATA_ONLY:-}" ]; then echo "Database $DB ready."; exit 0; fi

# Production settings, served by gunicorn (gthread) from the repo's config.
export REDIS_URL=${REDIS_URL-redis://127.0.0.1:6379/1} CACHE_KEY_PREFIX=bench-$COUNT-$$
GUNICORN_LOG=/tmp/bench-gunicorn.log
# shellcheck source=bench/serve.sh
source bench/serve.sh
# The statistics roll-ups of the public pages, counted for this catalogue version (as a
# deploy does after a large import): a fresh cache prefix is a new version.
/usr/bin/time -f "refresh_statistics: %e s" "$PY" manage.py refresh_statistics --workers 2
DEPTH=$((20000 * 25))
CURSOR=$(psql "$DATABASE_URL" -tAc "SELECT date || '.' || id FROM incidents_incident
    WHERE status='published' ORDER BY date DESC, id DESC OFFSET $DEPTH LIMIT 1")
PATHS=$(mktemp)
psql "$DATABASE_URL" -tAc "SELECT '/incidents/' || slug || '/' FROM incidents_incident
    WHERE status='published' ORDER BY random() LIMIT 2000" > "$PATHS"
# First visits: so many pages that a run of a few thousand requests rarely repeats one.
COLD_PATHS=$(mktemp)
psql "$DATABASE_URL" -tAc "SELECT '/incidents/' || slug || '/' FROM incidents_incident
    WHERE status='published' ORDER BY random() LIMIT 100000" > "$COLD_PATHS"

NAMES=() URLS=() COOKIES=() FILES=()
add() {
    if [ -n "${ONLY:-}" ] && [ ${#NAMES[@]} -gt 0 ] && ! [[ $1 =~ $ONLY ]]; then return; fi
    NAMES+=("$1"); URLS+=("$2"); COOKIES+=("${3:-}"); FILES+=("${4:-}")
}
add "hello-world baseline (/healthz)" "/healthz"
add "list page 1" "/incidents/"
add "deep page (20,000 pages in, cursor)" "/incidents/?after=$CURSOR"
add "filtered list (country + sector)" "/incidents/?country=GB&sector=healthcare"
add "text search, common term" "/incidents/?q=ransomware"
add "text search, rare term" "/incidents/?q=skimmer"
add "member advanced search" "/incidents/?motive=financial&tactic=initial-access&availability=high" "sessionid=$SESSION"
add "incident detail (2,000 random, each visited once first)" "/incidents/" "" "$PATHS"
add "incident detail, first visits (100,000 random, cold cache)" "/incidents/" "" "$COLD_PATHS"
add "incident detail as a member (2,000 random, each visited once first)" "/incidents/" \
    "sessionid=$SESSION" "$PATHS"
add "finder page as a member (list page 1)" "/incidents/" "sessionid=$SESSION"
add "statistics, public" "/statistics/"
add "statistics as a member" "/statistics/" "sessionid=$SESSION"
add "country hub (US, the largest)" "/countries/US/"
add "sector hub (healthcare)" "/sectors/healthcare/"
add "technique hub as a member (T1566)" "/attack/techniques/T1566/" "sessionid=$SESSION"
add "member statistics, one filter (technique T1486)" "/statistics/?technique=T1486" \
    "sessionid=$SESSION"
add "member statistics, healthcare 2019-2024 ransomware" \
    "/statistics/?sector=healthcare&date_from=2019-01-01&date_to=2024-12-31&q=ransomware" \
    "sessionid=$SESSION"

run() {  # url connections duration cookie pathsfile
    local threads=2; [ "$2" -lt 2 ] && threads=1
    COOKIE="$4" PATHS_FILE="$5" wrk -t"$threads" -c"$2" -d"$3" --timeout 10s -s bench/wrk_report.lua \
        "http://127.0.0.1:$PORT$1" | grep '^RESULT'
}

OUT=bench/results/load-$(date +%Y-%m-%d-%H%M).md
mkdir -p bench/results
{
echo "Run $(date -u +%FT%TZ), $COUNT incidents, gunicorn gthread ($(nproc) cores), wrk $CONNECTIONS connections x $DURATION, twice; 1 connection x 10s.${PAGES_CACHE_OFF:+ Pages cache off (PAGES_CACHE_OFF=1).}"
echo
echo "| page | req/s (run 1, run 2) | x baseline | p50 / p95 / p99 ms at $CONNECTIONS conn | p50 / p99 ms at 1 conn | errors |"
echo "|---|---|---|---|---|---|"
} | tee "$OUT"
BASE=""
for i in "${!NAMES[@]}"; do
    url=${URLS[$i]}; cookie=${COOKIES[$i]}; file=${FILES[$i]}
    if [ "$file" = "$PATHS" ]; then
        # Pages are cached once visited (per audience, until the catalogue changes), as
        # they are in production for everything people read: visit each page once.
        xargs -P 8 -I{} curl -s -o /dev/null -H "Cookie: $cookie" "http://127.0.0.1:$PORT{}" \
            < "$file"
    fi
    if [ "$file" != "$COLD_PATHS" ]; then
        run "$url" "$CONNECTIONS" 5s "$cookie" "$file" > /dev/null  # warm-up
    fi
    r1=$(run "$url" "$CONNECTIONS" "$DURATION" "$cookie" "$file")
    r2=$(run "$url" "$CONNECTIONS" "$DURATION" "$cookie" "$file")
    one=$(run "$url" 1 10s "$cookie" "$file")
    get() { echo "$1" | tr ' ' '\n' | grep "^$2=" | cut -d= -f2; }
    rps1=$(get "$r1" rps); rps2=$(get "$r2" rps)
    best=$(python3 -c "print(max($rps1, $rps2))")
    [ -z "$BASE" ] && BASE=$best
    ratio=$(python3 -c "print(f'{$best / $BASE * 100:.1f}%')")
    errors=$(( $(get "$r1" errors) + $(get "$r2" errors) + $(get "$r1" non2xx) + $(get "$r2" non2xx) ))
    echo "| ${NAMES[$i]} | $rps1, $rps2 | $ratio | $(get "$r2" p50) / $(get "$r2" p95) / $(get "$r2" p99) | $(get "$one" p50) / $(get "$one" p99) | $errors |" | tee -a "$OUT"
done
echo
echo "Written to $OUT"
