# Everything a developer or CI needs, from a fresh clone. `make help` lists the targets.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# Django 6 needs Python >= 3.12: a second virtualenv runs the suite on it where one is available.
PYTHON312 ?= $(shell PYENV_VERSION=3.12 pyenv which python 2>/dev/null || command -v python3.12)
VENV6 ?= .venv-django6
DEMO_PORT ?= 8000

.PHONY: help venv demo test test-sqlite test-postgres test-mysql test-django6 lint services browsers mysqlclient pgbouncer bench docs docs-check

help: ## list the targets
	@grep -hE '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

venv: $(VENV)/.installed ## create .venv and install flowrra with every extra the tests need

$(VENV)/.installed: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[dev]'
	touch $@

demo: venv ## the example site on 127.0.0.1:8000 (DEMO_PORT): web + worker + beat on SQLite, on Redis with REDIS_URL
	$(PY) example_project/demo.py --port $(DEMO_PORT)

test: venv services browsers pgbouncer lint docs-check test-sqlite test-postgres test-mysql test-django6 ## run the whole test suite

lint: venv ## ruff lint and format check, the type check (mypy) and the migrations check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(PY) manage.py makemigrations --check --dry-run || \
	  (echo "Models and migrations differ: run 'python manage.py makemigrations flowrra_django' and commit the result." && exit 1)

docs: venv ## serve the documentation site on http://127.0.0.1:8001/ (live reload)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs serve --dev-addr 127.0.0.1:8001

docs-check: venv ## build the documentation site with --strict: a broken link or anchor fails
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --quiet

test-sqlite: venv ## every test on SQLite (core, Redis, Django, end to end)
	$(VENV)/bin/pytest

test-postgres: venv ## the Django tests, django:// contract and chaos tests again on PostgreSQL (FLOWRRA_TEST_DATABASE_URL)
	FLOWRRA_TEST_DB=postgres $(VENV)/bin/pytest tests/django tests/contract tests/chaos/test_django_chaos.py tests/chaos/test_beat_chaos.py

test-mysql: venv mysqlclient ## the Django tests and django:// contract again on MariaDB/MySQL (FLOWRRA_TEST_MYSQL_URL)
	FLOWRRA_TEST_DB=mysql $(VENV)/bin/pytest tests/django tests/contract

mysqlclient: venv ## build mysqlclient (Django's MySQL driver) into .venv, with Debian's headers if missing
	@$(PY) -c "import MySQLdb" 2>/dev/null || { \
	  pkg-config --exists mysqlclient 2>/dev/null || \
	  (command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] && apt-get update -qq && \
	   DEBIAN_FRONTEND=noninteractive apt-get install -y -qq default-libmysqlclient-dev pkg-config gcc >/dev/null); \
	  $(VENV)/bin/pip install -q 'mysqlclient>=2.2' || \
	  echo "mysqlclient could not be built: the MySQL tests run on PyMySQL instead"; }

# The Django 6 pass runs what depends on Django: tests/django, and the contract tests of the
# django:// broker and backend (-k leaves out their memory, Redis and Redis Cluster kinds, which
# import no Django). The engine's own tests (tests/core) already ran on Python 3.11 in
# test-sqlite; PY312_SMOKE runs a few of them again here because Python 3.12 changed what the
# engine leans on: asyncio, multiprocessing (fork warnings, which the suite turns into errors),
# sqlite3 and the deprecations of datetime. tests/django drives the rest of the engine (workers,
# Redis broker, beat) on 3.12 through Django.
PY312_SMOKE = tests/core/test_app.py tests/core/test_semantics.py tests/core/test_cpu.py \
  tests/core/scheduler/test_scheduler.py tests/core/scheduler/test_sqlite_backend.py

test-django6: ## the Django tests, django:// contract and an engine smoke set on Django 6 (Python 3.12)
	@if [ -z "$(PYTHON312)" ]; then echo "No Python 3.12 here: Django 6 run skipped"; exit 0; fi; \
	if [ ! -f $(VENV6)/.installed ] || [ setup.cfg -nt $(VENV6)/.installed ]; then \
	  $(PYTHON312) -m venv $(VENV6) && $(VENV6)/bin/pip install -q -e '.[dev]' 'django>=6,<7' && touch $(VENV6)/.installed; \
	fi; \
	$(VENV6)/bin/python -c "import django; print('Django', django.get_version())"; \
	$(VENV6)/bin/pytest tests/django tests/contract $(PY312_SMOKE) -k "not (contract and (memory or redis))"

services: ## start Redis, PostgreSQL and MariaDB on 127.0.0.1 if they are installed but down
	@redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 || \
	  (command -v redis-server >/dev/null && redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no) || true
	@pg_isready -h 127.0.0.1 -p 5432 >/dev/null 2>&1 || \
	  (command -v pg_ctlcluster >/dev/null && pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start) || true
	@mariadb-admin --host=127.0.0.1 --port=3306 --user=root ping >/dev/null 2>&1 || \
	  ([ -x /etc/init.d/mariadb ] && /etc/init.d/mariadb start >/dev/null) || true

browsers: ## install Debian's Chromium for the browser tests, if it is missing
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	  (command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] && apt-get update -qq && \
	   DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) || \
	  echo "Chromium could not be installed: the browser tests will say so"

pgbouncer: ## install Debian's PgBouncer (the pooler test starts its own), if it is missing
	@command -v pgbouncer >/dev/null 2>&1 || [ -x /usr/sbin/pgbouncer ] || \
	  (command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] && apt-get update -qq && \
	   DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pgbouncer >/dev/null) || \
	  echo "PgBouncer could not be installed: the pooler test will say so"

bench: venv ## the benchmarks of bench/, each beside its peers measured in the same run (~55 min)
	$(PY) bench/bench_memory.py
	$(PY) bench/bench_redis.py
	$(PY) bench/bench_redis_cluster.py
	$(PY) bench/bench_beat.py
	$(PY) bench/bench_django_broker.py
	$(PY) bench/bench_django_tasks.py
	$(PY) bench/bench_submit.py
	$(PY) bench/bench_admin_changelist.py
	$(PY) bench/bench_live.py
	$(PY) bench/bench_scale.py
