# Commonpurse: `make run` and `make test` do all their own set-up (see README.md).
SHELL := /bin/bash
PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	if command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then echo $$p; break; fi; done)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run test test-fast lint typecheck stack migrate demo browser gettext nginx messages clean lock audit

install: $(STAMP)

$(STAMP): pyproject.toml
	@if [ -z "$(PYTHON)" ]; then echo "Commonpurse needs Python 3.11 or newer on the PATH." >&2; exit 1; fi
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	@touch $(STAMP)

# The embedded defaults are for a developer's machine: DEBUG is on for them unless set (the
# settings default to off, so a server started any other way shows no tracebacks).
migrate demo run messages: export DEBUG ?= true

migrate: install
	$(PY) manage.py migrate --noinput

# Links in e-mails and printed messages point at the address being served (HOST and PORT)
# unless SITE_URL says otherwise.
SITE_URL ?= http://$(HOST):$(PORT)
export SITE_URL

demo: migrate
	$(PY) manage.py load_demo

# Embedded defaults: SQLite, in-memory channel layer, eager Celery, console e-mail.
# The phase clock stands in for Celery beat so phases open and close on their dates.
run: demo
	@echo "Serving on http://$(HOST):$(PORT)/ (Ctrl+C to stop)"
	@trap 'kill 0' EXIT INT TERM; \
	$(PY) manage.py phase_clock & \
	$(PY) manage.py runserver $(HOST):$(PORT)

# Chromium for the browser tests: Debian's package, installed when we are root.
browser:
	@if [ -x /usr/bin/chromium ]; then true; \
	elif [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
		echo "Installing Debian's chromium for the browser tests"; \
		(apt-get install -y -qq chromium >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)); \
	else echo "No chromium and not root: browser tests will be skipped (apt-get install chromium to run them)."; fi

# nginx for the test that runs two of every process behind the production proxy
# (tests/reliability/test_two_of_everything.py): Debian's package, installed when we are root.
# The test runs nginx itself, on a free port with a configuration of its own; the package's
# service is not used.
nginx:
	@if [ -x /usr/sbin/nginx ]; then true; \
	elif [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
		echo "Installing Debian's nginx for the two-of-everything test"; \
		(apt-get install -y -qq nginx >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq nginx >/dev/null)); \
	else echo "No nginx and not root: the two-of-everything test will be skipped (apt-get install nginx)."; fi

# GNU gettext: `make messages` and the catalogue check in the tests (tests/i18n) need it;
# poppler's pdftotext lets the tests read the Welsh PDF report.
gettext:
	@if command -v xgettext >/dev/null && command -v msgfmt >/dev/null && command -v pdftotext >/dev/null; then true; \
	elif [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
		echo "Installing GNU gettext and poppler-utils for the translation tests"; \
		(apt-get install -y -qq gettext poppler-utils >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq gettext poppler-utils >/dev/null)); \
	else echo "No GNU gettext or pdftotext and not root: their tests will be skipped (apt-get install gettext poppler-utils)."; fi

# Translation catalogues: run after changing any user-facing text, then translate the new
# entries in locale/{cy,pl,ur}/LC_MESSAGES/django.po (no fuzzy, none empty: the tests check)
# and run it again to compile them. Without locations, so a moved line changes nothing.
LOCALES := cy pl ur
MESSAGES_IGNORE := --ignore=.venv --ignore=tests --ignore=bench --ignore=staticfiles --ignore=media --ignore=node_modules
messages: install gettext
	$(PY) manage.py makemessages $(addprefix -l ,$(LOCALES)) --no-location --no-obsolete $(MESSAGES_IGNORE)
	$(PY) manage.py compilemessages $(addprefix -l ,$(LOCALES)) $(MESSAGES_IGNORE)

# The whole suite in TEST_WORKERS processes (pytest-xdist; each has its own test database and
# channel prefix). Work stealing, because a few tests (pabutools on the largest elections, the
# crawl) take minutes: a worker that finishes early takes tests from the other.
TEST_WORKERS ?= 2
test: install browser gettext nginx
	$(PY) -m pytest -n $(TEST_WORKERS) --dist worksteal --durations=15 $(PYTEST_ARGS)

test-fast: install
	$(PY) -m pytest -m "not slow and not e2e" $(PYTEST_ARGS)

# The tests on the controlled clock (tests/conftest.py, ``clock``) on the first, the 15th and
# the last day of a month and on a leap day; ``TEST_NOW=<date> make test`` runs everything on one.
TEST_DATES ?= 2027-01-01 2027-06-15 2027-04-30 2028-02-29
test-dates: install
	@set -e; for day in $(TEST_DATES); do \
		echo "Tests on the controlled clock, TEST_NOW=$$day"; \
		TEST_NOW=$$day $(PY) -m pytest -q -m "clock and not e2e" $(PYTEST_ARGS); \
	done

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: install
	$(VENV)/bin/mypy backend pb feedback deliberation

# The production processes, locally, against DATABASE_URL and REDIS_URL.
# HTTP: gunicorn's threaded workers on the WSGI app (measured fastest for casting ballots, see
# docs/voting-performance.md) on PORT. WebSockets: uvicorn on the ASGI app on WS_PORT; in front
# of both a proxy sends /ws/ to WS_PORT and everything else to PORT (docker-compose.yml does this
# with nginx). Without a proxy, WS_PORT also answers every page, live rooms included.
# Celery's broker: CELERY_BROKER_URL if set; otherwise the stack starts a Redis of its own on
# BROKER_PORT that keeps its queues in an append-only file under .stack/broker, so a restart
# loses no queued count or e-mail (the cache and rooms stay on REDIS_URL).
# How many of each process: WEB_SERVERS gunicorn servers (each WEB_WORKERS x WEB_THREADS) on
# PORT, PORT+2, ...; WS_SERVERS uvicorn servers (each WS_WORKERS workers) on WS_PORT, WS_PORT+2,
# ...; WORKERS Celery workers; always one beat (docs/scaling.md). Put a proxy in front of them.
WS_PORT ?= 8001
# The largest WebSocket frame a client may send (WEBSOCKET_MAX_BYTES in backend/settings.py).
WS_MAX_SIZE := 65536
BROKER_PORT ?= 6380
WEB_SERVERS ?= 1
WEB_WORKERS ?= 3
WEB_THREADS ?= 4
WS_SERVERS ?= 1
WS_WORKERS ?= 1
WORKERS ?= 1
stack: install
	@test -n "$$DATABASE_URL" || (echo "Set DATABASE_URL (e.g. postgres://postgres@127.0.0.1:5432/commonpurse)" >&2; exit 1)
	@test -n "$$REDIS_URL" || (echo "Set REDIS_URL (e.g. redis://127.0.0.1:6379/0)" >&2; exit 1)
	@if [ -z "$$CELERY_BROKER_URL" ]; then \
		command -v redis-server >/dev/null || (echo "Set CELERY_BROKER_URL or install redis-server" >&2; exit 1); \
		mkdir -p .stack/broker; \
		redis-server --port $(BROKER_PORT) --bind 127.0.0.1 --dir $(CURDIR)/.stack/broker \
			--appendonly yes --appendfsync everysec --save "" --daemonize yes \
			--pidfile $(CURDIR)/.stack/broker/redis.pid --logfile $(CURDIR)/.stack/broker/redis.log; \
	fi
	DEBUG=false $(PY) manage.py migrate --noinput
	DEBUG=false $(PY) manage.py collectstatic --noinput -v0
	@own_broker=$$([ -z "$$CELERY_BROKER_URL" ] && echo yes); \
	trap '[ -n "$$own_broker" ] && kill $$(cat .stack/broker/redis.pid); kill 0' EXIT INT TERM; \
	export CELERY_BROKER_URL=$${CELERY_BROKER_URL:-redis://127.0.0.1:$(BROKER_PORT)/0} DEBUG=false; \
	for i in $$(seq 1 $(WORKERS)); do \
		$(VENV)/bin/celery -A backend worker -n worker$$i@%h -l info -Q celery,tally,notifications & \
	done; \
	$(VENV)/bin/celery -A backend beat -l info & \
	for i in $$(seq 0 $$(($(WS_SERVERS) - 1))); do \
		echo "WebSockets on ws://$(HOST):$$(($(WS_PORT) + 2 * i))/ws/ (uvicorn)"; \
		$(VENV)/bin/uvicorn backend.asgi:application --host $(HOST) --port $$(($(WS_PORT) + 2 * i)) \
			--workers $(WS_WORKERS) --ws-max-size $(WS_MAX_SIZE) --no-access-log & \
	done; \
	for i in $$(seq 0 $$(($(WEB_SERVERS) - 1))); do \
		echo "HTTP on http://$(HOST):$$(($(PORT) + 2 * i))/ (gunicorn gthread)"; \
		$(VENV)/bin/gunicorn backend.wsgi:application --bind $(HOST):$$(($(PORT) + 2 * i)) \
			--worker-class gthread --workers $(WEB_WORKERS) --threads $(WEB_THREADS) & \
	done; \
	wait

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles .stack .pytest_cache .mypy_cache .ruff_cache

# Every dependency, pinned with its hashes, from pyproject.toml (pip-tools). Run after changing
# a dependency; tests/abuse/test_dependencies.py fails while the lock disagrees with pyproject.
AUDIT_TOOLS := pip-audit==2.10.1 pip-tools==7.6.2
lock: install
	$(PY) -m pip install --quiet $(AUDIT_TOOLS)
	$(VENV)/bin/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras --extra test \
		--no-emit-index-url --no-emit-find-links --output-file requirements.lock pyproject.toml

# Known vulnerabilities in the locked set (pip-audit, hashes required). It needs the PyPI JSON
# API or OSV: AUDIT_SERVICE=osv to use OSV's database instead of PyPI's.
AUDIT_SERVICE ?= pypi
audit: install
	$(PY) -m pip install --quiet $(AUDIT_TOOLS)
	$(VENV)/bin/pip-audit --require-hashes --disable-pip --vulnerability-service $(AUDIT_SERVICE) \
		--requirement requirements.lock --strict
