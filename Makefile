# Set-up and everyday commands. `make run` and `make test` are all a newcomer needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
DEV := DJANGO_DEBUG=1
PORT ?= 8000
PG_URL ?= postgres://postgres@127.0.0.1:5432/postgres

DATA ?= ../shared/data
ATTACK_RELEASE ?= 18.1
VERIS_ATTACK_MAPPING ?= $(DATA)/veris/master/veris-1.4.0_attack-16.1-enterprise.csv

.PHONY: run serve test test-postgres lint format install lock clean real-data real-data-files e2e-deps

# `make serve`: the production configuration on this machine (DEBUG off, gunicorn, WhiteNoise,
# secure cookies; http on 127.0.0.1 only). Set REDIS_URL to use Redis, DATABASE_URL for PostgreSQL.
SERVE_KEY := $(VENV)/serve-secret-key
SERVE_ENV = DJANGO_DEBUG=0 DJANGO_SECRET_KEY="$$(cat $(SERVE_KEY))" \
	DJANGO_ALLOWED_HOSTS=127.0.0.1,localhost DJANGO_SECURE_SSL_REDIRECT=0 \
	EMAIL_URL=$${EMAIL_URL:-consolemail://} DJANGO_SITE_DOMAIN=127.0.0.1:$(PORT)

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed (set PYTHON=python3.12 ...)")'
	$(PYTHON) -m venv $(VENV)

$(INSTALLED): pyproject.toml .ci/constraints.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c .ci/constraints.txt '.[dev]'
	touch $(INSTALLED)

install: $(INSTALLED)

# `make run` and `make serve` start a background-job worker (manage.py db_worker, docs/jobs.md)
# beside the web server, in the same process group: Ctrl-C stops both, and the worker stops
# when the server does.
WORKER := $(BIN)/python manage.py db_worker --no-reload
STOP_WORKER := trap 'kill $$worker 2>/dev/null; wait $$worker' EXIT; trap 'exit 130' INT TERM

run: DEV += DJANGO_SITE_DOMAIN=127.0.0.1:$(PORT)
run: install  ## Serve the portal with demo data at http://127.0.0.1:8000 (SQLite), and a job worker
	$(DEV) $(BIN)/python manage.py migrate --noinput
	$(DEV) $(BIN)/python manage.py seed_demo
	$(DEV) $(BIN)/python manage.py build_public_snapshots
	$(DEV) $(WORKER) & worker=$$!; $(STOP_WORKER); \
	$(DEV) $(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

serve: install  ## The production configuration locally: gunicorn + WhiteNoise, DEBUG off
	@test -s $(SERVE_KEY) || $(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(50))' > $(SERVE_KEY)
	$(DEV) $(BIN)/python manage.py migrate --noinput
	$(DEV) $(BIN)/python manage.py seed_demo --quiet-accounts
	$(SERVE_ENV) $(BIN)/python manage.py check --deploy
	$(SERVE_ENV) $(BIN)/python manage.py collectstatic --noinput -v0
	$(SERVE_ENV) $(WORKER) & worker=$$!; $(STOP_WORKER); \
	$(SERVE_ENV) GUNICORN_BIND=127.0.0.1:$(PORT) $(BIN)/gunicorn -c portal/gunicorn.conf.py portal.wsgi

# Real data only: the demo incidents are never loaded, and a database holding them is refused.
# The files are checked first, before anything is installed or migrated.
REAL_DATA_FILES = $(DATA)/attack/stix/enterprise-attack.json $(DATA)/misp-galaxy/threat-actor.json \
	$(DATA)/vcdb/vcdb_validated.jsonl $(VERIS_ATTACK_MAPPING) \
	$(DATA)/hhs-breaches/hhs_breach_archive.csv $(DATA)/hhs-breaches/hhs_breach_under_investigation.csv

real-data-files:
	@for f in $(REAL_DATA_FILES); do test -f "$$f" || { \
		echo "make real-data: $$f not found."; \
		echo "Pass the directory that holds attack/, misp-galaxy/, vcdb/, veris/ and hhs-breaches/:"; \
		echo "    make real-data DATA=/path/to/data    (default: ../shared/data, beside this checkout)"; \
		exit 1; } >&2; done

real-data: real-data-files install  ## Import MITRE ATT&CK, the VCDB incidents and the HHS breach portal's from DATA (default ../shared/data)
	$(DEV) $(BIN)/python manage.py migrate --noinput
	$(DEV) $(BIN)/python manage.py seed_demo --quiet-accounts --no-demo-incidents
	$(DEV) $(BIN)/python manage.py import_attack $(DATA)/attack/stix/enterprise-attack.json --release $(ATTACK_RELEASE) \
		--misp-galaxy $(DATA)/misp-galaxy/threat-actor.json
	$(DEV) $(BIN)/python manage.py import_veris $(DATA)/vcdb/vcdb_validated.jsonl \
		--attack-mapping $(VERIS_ATTACK_MAPPING) --publish
	$(DEV) $(BIN)/python manage.py import_hhs $(DATA)/hhs-breaches/hhs_breach_archive.csv \
		$(DATA)/hhs-breaches/hhs_breach_under_investigation.csv --publish

# The suite runs on two cores (pytest-xdist, one test file per worker at a time); then, one at
# a time, the tests that start servers or processes of their own and the modules with
# transactional tests: a transactional test's flush empties the tables the migrations fill
# (plans, groups), and under xdist the tests a worker runs after it would find them empty.
# Without xdist pytest-django runs transactional tests after all others.
TRANSACTIONAL_TESTS := tests/test_jobs_worker.py tests/accounts/test_billing_concurrency.py \
	tests/accounts/test_trials.py tests/accounts/test_invoice_requests.py tests/test_operations.py \
	tests/accounts/test_team_concurrency.py tests/incidents/test_technique_provenance_migration.py \
	tests/incidents/test_exports_postgres.py tests/incidents/test_refresh_statistics_workers.py \
	tests/test_counters_concurrency.py tests/incidents/test_gated_counts_concurrent.py \
	tests/accounts/test_membership_cache.py tests/test_sqlite_backend.py
SERIAL_TESTS := tests/test_faults.py tests/test_backup_restore.py tests/test_multiprocess.py \
	tests/e2e $(TRANSACTIONAL_TESTS)
PYTEST_PARALLEL = $(BIN)/python -m pytest -n 2 --dist loadfile $(addprefix --ignore=,$(SERIAL_TESTS))
PYTEST_SERIAL = $(BIN)/python -m pytest $(SERIAL_TESTS)

test: install  ## The test suite on SQLite
	$(PYTEST_PARALLEL)
	$(PYTEST_SERIAL)

test-postgres: install  ## The test suite on the local PostgreSQL
	DATABASE_URL=$(PG_URL) $(PYTEST_PARALLEL)
	DATABASE_URL=$(PG_URL) $(PYTEST_SERIAL)

e2e-deps:  ## Chromium (Debian) and axe-core (pinned by tests/e2e/package-lock.json) for tests/e2e
	test -x /usr/bin/chromium || { apt-get update -qq && apt-get install -y -qq chromium; }
	npm ci --prefix tests/e2e --no-audit --no-fund

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

lock: install  ## Re-pin .ci/constraints.txt after changing pyproject.toml
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^incident-portal' > .ci/constraints.txt

clean:
	rm -rf $(VENV) staticfiles
