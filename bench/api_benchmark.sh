#!/usr/bin/env bash
# Latency and throughput of the API's incident list (issue 13), against gunicorn on PostgreSQL
# with the production settings (bench/serve.sh), measured with wrk exactly as
# bench/load_benchmark.sh measures pages: each row as a ratio of the hello-world baseline
# served by the same gunicorn in the same run. Uses the database of bench/load_benchmark.sh
# (build it first: DATA_ONLY=1 bash bench/load_benchmark.sh). Usage:
#   bash bench/api_benchmark.sh                  # 1,000,000 incidents
#   COUNT=100000 DURATION=10s bash bench/api_benchmark.sh
#   ONLY='deep' bash bench/api_benchmark.sh      # the baseline and the rows matching
# The member rows send a personal API token of the demo member (member@example.com), made
# for the run and revoked after it. The API's rate limits are lifted for the run (and the
# member's plan's own limit, put back after the run)
# (API_REQUESTS_PER_MINUTE, API_ANONYMOUS_REQUESTS_PER_MINUTE): wrk sends thousands of
# requests a minute from one token and one address. They still count every request, in a Redis
# of their own as production does (SECURITY_REDIS_URL, docs/deploy.md), not the database table.
# Results: a table on stdout and in bench/results/api-<date>.md (not committed).
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT=${COUNT:-1000000}
DB=${BENCH_DB:-portal_bench_${COUNT}}
PG=${PG:-postgres://postgres@127.0.0.1:5432}
PORT=${PORT:-8099}
DURATION=${DURATION:-30s}
CONNECTIONS=${CONNECTIONS:-16}
PY=.venv/bin/python
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install -y wrk"; exit 1; }

export DATABASE_URL="$PG/$DB"
export API_REQUESTS_PER_MINUTE=1000000000 API_ANONYMOUS_REQUESTS_PER_MINUTE=1000000000
export REDIS_URL=${REDIS_URL-redis://127.0.0.1:6379/1} CACHE_KEY_PREFIX=bench-api-$COUNT-$$
export SECURITY_REDIS_URL=${SECURITY_REDIS_URL-redis://127.0.0.1:6379/2}
GUNICORN_LOG=${GUNICORN_LOG:-/tmp/bench-api-gunicorn.log}
# shellcheck source=bench/serve.sh
source bench/serve.sh
token_shell() {  # revoke the benchmark's tokens and restore the plan's limit; or make a new one
    "$PY" manage.py shell -v0 -c "
from pathlib import Path
from django.contrib.auth import get_user_model
from accounts import tokens
from accounts.access import membership_plan
user = get_user_model().objects.get(email='member@example.com')
plan, saved = membership_plan(user), Path('$PLAN_LIMIT_FILE')
for old in tokens.active_for(user).filter(name='api benchmark'):
    tokens.revoke(user, old.pk)
if '$1' == 'new':
    # The member's plan has a limit of its own (Individual: 120 a minute), which outranks
    # API_REQUESTS_PER_MINUTE: lifted for the run, put back after it.
    if plan is not None and not saved.exists():
        saved.write_text(str(plan.api_requests_per_minute or ''))
        type(plan).objects.filter(pk=plan.pk).update(api_requests_per_minute=None)
    print(tokens.create(user, 'api benchmark')[1])
elif plan is not None and saved.exists():
    type(plan).objects.filter(pk=plan.pk).update(api_requests_per_minute=int(saved.read_text() or 0) or None)
    saved.unlink()"
}
PLAN_LIMIT_FILE=${TMPDIR:-/tmp}/bench-api-plan-limit-$$
TOKEN=$(token_shell new)
trap 'token_shell revoke; kill $GPID 2>/dev/null || true' EXIT
AUTH="Bearer $TOKEN"
curl -fs -o /dev/null -H "Authorization: $AUTH" "http://127.0.0.1:$PORT/api/v1/incidents" \
    || { echo "the API did not answer 200 to the benchmark token"; exit 1; }
DEPTH=$((20000 * 25))
CURSOR=$(psql "$DATABASE_URL" -tAc "SELECT 'after:' || date || '.' || id FROM incidents_incident
    WHERE status='published' ORDER BY date DESC, id DESC OFFSET $DEPTH LIMIT 1")

NAMES=() URLS=() AUTHS=()
add() {
    if [ -n "${ONLY:-}" ] && [ ${#NAMES[@]} -gt 0 ] && ! [[ $1 =~ $ONLY ]]; then return; fi
    NAMES+=("$1"); URLS+=("$2"); AUTHS+=("${3:-}")
}
add "hello-world baseline (/healthz)" "/healthz"
add "API list page 1, member token" "/api/v1/incidents" "$AUTH"
add "API list page 1, visitor (no token)" "/api/v1/incidents"
add "API filtered list, member (country + sector)" "/api/v1/incidents?country=GB&sector=healthcare" "$AUTH"
add "API members' filter (motive + tactic + availability)" \
    "/api/v1/incidents?motive=financial&tactic=initial-access&availability=high" "$AUTH"
add "API deep page, member (500,000 in, cursor)" "/api/v1/incidents?cursor=$CURSOR" "$AUTH"
add "API list of 100, member" "/api/v1/incidents?limit=100" "$AUTH"

run() {  # url connections duration authorization
    local threads=2; [ "$2" -lt 2 ] && threads=1
    AUTHORIZATION="$4" wrk -t"$threads" -c"$2" -d"$3" --timeout 10s -s bench/wrk_report.lua \
        "http://127.0.0.1:$PORT$1" | grep '^RESULT'
}

OUT=bench/results/api-$(date +%Y-%m-%d-%H%M).md
mkdir -p bench/results
{
echo "Run $(date -u +%FT%TZ), $DB, gunicorn gthread ($(nproc) cores), wrk $CONNECTIONS connections x $DURATION, twice; 1 connection x 10s; API rate limits lifted."
echo
echo "| request | req/s (run 1, run 2) | x baseline | p50 / p95 / p99 ms at $CONNECTIONS conn (run 1, run 2) | p50 / p99 ms at 1 conn | errors | load average |"
echo "|---|---|---|---|---|---|---|"
} | tee "$OUT"
BASE=""
for i in "${!NAMES[@]}"; do
    url=${URLS[$i]}; auth=${AUTHS[$i]}
    code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: $auth" "http://127.0.0.1:$PORT$url")
    [ "$code" = 200 ] || { echo "${NAMES[$i]}: HTTP $code"; exit 1; }
    load=$(cut -d' ' -f1-3 /proc/loadavg)
    run "$url" "$CONNECTIONS" 5s "$auth" > /dev/null  # warm-up
    r1=$(run "$url" "$CONNECTIONS" "$DURATION" "$auth")
    r2=$(run "$url" "$CONNECTIONS" "$DURATION" "$auth")
    one=$(run "$url" 1 10s "$auth")
    get() { echo "$1" | tr ' ' '\n' | grep "^$2=" | cut -d= -f2; }
    rps1=$(get "$r1" rps); rps2=$(get "$r2" rps)
    best=$(python3 -c "print(max($rps1, $rps2))")
    [ -z "$BASE" ] && BASE=$best
    ratio=$(python3 -c "print(f'{$best / $BASE * 100:.1f}%')")
    errors=$(( $(get "$r1" errors) + $(get "$r2" errors) + $(get "$r1" non2xx) + $(get "$r2" non2xx) ))
    echo "| ${NAMES[$i]} | $rps1, $rps2 | $ratio | $(get "$r1" p50) / $(get "$r1" p95) / $(get "$r1" p99), $(get "$r2" p50) / $(get "$r2" p95) / $(get "$r2" p99) | $(get "$one" p50) / $(get "$one" p99) | $errors | $load |" | tee -a "$OUT"
done
echo
echo "Written to $OUT"
