#!/usr/bin/env bash
# A bounded load test of mixed visitor and member traffic against gunicorn on PostgreSQL
# with the real VCDB data (imported once into its own database), measured with wrk.
# Usage:
#   bash bench/mixed_load.sh                        # 3 minutes, 16 connections
#   DURATION=60s CONNECTIONS=32 bash bench/mixed_load.sh
# Passes only with zero socket errors and only 2xx answers. Results in bench/results/.
set -euo pipefail
cd "$(dirname "$0")/.."
DB=${BENCH_DB:-portal_bench_vcdb}
PG=${PG:-postgres://postgres@127.0.0.1:5432}
PORT=${PORT:-8098}
DURATION=${DURATION:-180s}
CONNECTIONS=${CONNECTIONS:-16}
DATA=${DATA:-../shared/data}
PY=.venv/bin/python
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install -y wrk"; exit 1; }
[ -f "$DATA/vcdb/vcdb_validated.jsonl" ] || { echo "VCDB data not found under $DATA"; exit 1; }

export DATABASE_URL="$PG/$DB"
dev() { DJANGO_DEBUG=1 "$PY" manage.py "$@"; }
if [ -z "$(psql "$PG/postgres" -tAc "SELECT 1 FROM pg_database WHERE datname='$DB'")" ]; then
    psql "$PG/postgres" -qc "CREATE DATABASE $DB"
fi
dev migrate -v0
dev seed_demo --quiet-accounts > /dev/null
have=$(psql "$DATABASE_URL" -tAc "SELECT count(*) FROM incidents_incident")
if [ "$have" -lt 5000 ]; then
    dev import_attack "$DATA/attack/stix/enterprise-attack.json" --release 18.1 > /dev/null
    dev import_veris "$DATA/vcdb/vcdb_validated.jsonl" --publish \
        --attack-mapping "$DATA/veris/master/veris-1.4.0_attack-16.1-enterprise.csv" > /dev/null
    psql "$DATABASE_URL" -qc "VACUUM ANALYZE"
fi

export REDIS_URL=${REDIS_URL-redis://127.0.0.1:6379/2} CACHE_KEY_PREFIX=bench-vcdb-$$
GUNICORN_LOG=/tmp/bench-mixed-gunicorn.log
# shellcheck source=bench/serve.sh
source bench/serve.sh

# The mix: about 70% visitors, 30% members, over the pages people use.
PATHS=$(mktemp)
q() { psql "$DATABASE_URL" -tAc "$1"; }
{
    for _ in $(seq 20); do echo "A /"; echo "A /incidents/"; done
    for p in $(seq 2 40); do echo "A /incidents/?page=$p"; done
    for c in US GB CA AU DE FR IN JP; do echo "A /incidents/?country=$c"; done
    q "SELECT 'A /incidents/?sector=' || slug FROM incidents_sector"
    for y in $(seq 2010 2023); do echo "A /incidents/?year=$y"; done
    for w in ransomware phishing hospital laptop stolen email bank "credit card" school police; do
        echo "A /incidents/?q=${w// /+}"
    done
    q "SELECT 'A /incidents/' || slug || '/' FROM incidents_incident WHERE status='published'
       ORDER BY random() LIMIT 400"
    q "SELECT 'A /organisations/' || o.slug || '/' FROM incidents_organisation o
       WHERE EXISTS (SELECT 1 FROM incidents_incident i WHERE i.organisation_id = o.id
       AND i.status='published') ORDER BY random() LIMIT 60"
    for l in A B C M S T; do echo "A /organisations/?letter=$l"; done
    echo "A /actors/"; echo "A /browse/"
    # Unattributed actors (named after their type and location) are for members only.
    q "SELECT 'A /actors/' || a.slug || '/' FROM incidents_threatactor a WHERE NOT a.is_unattributed AND EXISTS
       (SELECT 1 FROM incidents_incident_threat_actors t JOIN incidents_incident i
       ON i.id = t.incident_id WHERE t.threatactor_id = a.id AND i.status='published')
       ORDER BY random() LIMIT 30"
    q "SELECT 'M /incidents/' || slug || '/' FROM incidents_incident WHERE status='published'
       ORDER BY random() LIMIT 200"
    for m in financial espionage grudge fun ideology; do
        for a in high low; do echo "M /incidents/?motive=$m&availability=$a"; done
        echo "M /incidents/?motive=$m&tactic=initial-access"
    done
    q "SELECT 'M /actors/' || a.slug || '/' FROM incidents_threatactor a WHERE EXISTS
       (SELECT 1 FROM incidents_incident_threat_actors t JOIN incidents_incident i
       ON i.id = t.incident_id WHERE t.threatactor_id = a.id AND i.status='published')
       ORDER BY random() LIMIT 30"
    for w in phishing ransomware; do echo "M /incidents/?q=$w"; done
    echo "M /accounts/membership/"; echo "M /"
} > "$PATHS"

# Every path must answer 200 before the run: a broken path is a finding, not noise.
bad=0
while read -r who path; do
    cookie=""; [ "$who" = M ] && cookie="sessionid=$SESSION"
    code=$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: $cookie" "http://127.0.0.1:$PORT$path")
    [ "$code" = 200 ] || { echo "$code $who $path"; bad=$((bad + 1)); }
done < "$PATHS"
[ "$bad" = 0 ] || { echo "$bad paths did not answer 200"; exit 1; }

lines=$(wc -l < "$PATHS"); members=$(grep -c '^M ' "$PATHS")
OUT=bench/results/mixed-$(date +%Y-%m-%d-%H%M).md
mkdir -p bench/results
echo "Mixed load: $lines paths ($members member paths), wrk -t2 -c$CONNECTIONS -d$DURATION, $(date -u +%FT%TZ)" | tee "$OUT"
result=$(MEMBER_COOKIE="sessionid=$SESSION" PATHS_FILE="$PATHS" wrk -t2 -c"$CONNECTIONS" \
    -d"$DURATION" --timeout 10s -s bench/wrk_mixed.lua "http://127.0.0.1:$PORT/" | grep '^RESULT')
echo "$result" | tee -a "$OUT"
get() { echo "$result" | tr ' ' '\n' | grep "^$1=" | cut -d= -f2; }
if [ "$(get 5xx)" != 0 ] || [ "$(get 4xx)" != 0 ] || [ "$(get 3xx)" != 0 ] || [ "$(get socket_errors)" != 0 ]; then
    echo "FAILED: errors or non-2xx answers under load"; exit 1
fi
echo "OK: zero errors. Written to $OUT"
