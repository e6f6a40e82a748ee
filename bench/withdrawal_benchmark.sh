#!/usr/bin/env bash
# What readers of the statistics get right after a withdrawal (an incident unpublished), at
# 1,000,000 incidents, through gunicorn with the production settings (bench/serve.sh), and how
# long the job queue takes to recount (docs/performance.md). Uses the database of
# bench/load_benchmark.sh (DATA_ONLY=1 bash bench/load_benchmark.sh); its roll-ups must have
# been counted once (manage.py refresh_statistics --workers 2) so that their seconds are known.
# Unpublishes the newest published incident of the benchmark database. Usage:
#   bash bench/withdrawal_benchmark.sh
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT=${COUNT:-1000000}
PY=.venv/bin/python
PORT=${PORT:-8098}
export DATABASE_URL=${PG:-postgres://postgres@127.0.0.1:5432}/${BENCH_DB:-portal_bench_${COUNT}}
export REDIS_URL=redis://127.0.0.1:6379/1 CACHE_KEY_PREFIX=recount-$$
GUNICORN_LOG=/tmp/recount-gunicorn.log
# shellcheck source=bench/serve.sh
source bench/serve.sh
echo "== roll-ups that count too slowly for a request after a withdrawal (STATISTICS_QUEUE_SECONDS)"
psql "$DATABASE_URL" -tAc "select audience, coalesce(nullif(query,''),'(all)'), round(seconds::numeric,1) from incidents_statisticsrollup where seconds >= 5 order by seconds desc limit 8"
t() {  # path [member]: status, seconds, path
    local cookie=()
    [ -n "${2:-}" ] && cookie=(-H "Cookie: sessionid=$SESSION")
    curl -s -o /dev/null "${cookie[@]}" -w "%{http_code} %{time_total}s $1 ${2:-}\n" \
        "http://127.0.0.1:$PORT$1"
}
# A new cache prefix is a new withdrawal version: the slow keys are recounted first (their
# first reader queues them), as after a Redis flush.
echo "== before the withdrawal (new cache prefix: first readers, the worker, then readers)"
t /statistics/; t /statistics/ member; t /countries/US/
"$PY" manage.py db_worker --batch --no-reload > /dev/null 2>&1
t /statistics/; t /statistics/ member; t /countries/US/
echo "== withdrawal: one incident unpublished"
"$PY" manage.py shell -v0 -c "
from incidents import services
from incidents.models import Incident
services.unpublish(Incident.objects.filter(pk=Incident.objects.filter(status='published').order_by('-id').values('pk')[:1]))
from django_tasks_db.models import DBTaskResult
print('queued recounts:', DBTaskResult.objects.filter(task_path__endswith='refresh_statistics', status='READY').count())"
echo "== readers right after"
for i in 1 2 3; do t /statistics/; t /statistics/ member; t /countries/US/; done
echo "== the worker recounts (batch)"
/usr/bin/time -f "db_worker --batch: %e s" "$PY" manage.py db_worker --batch --no-reload 2>&1 | tail -1
echo "== readers after the recount"
t /statistics/; t /statistics/ member; t /countries/US/; t /statistics/ member
