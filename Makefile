# Maritime — the two set-up commands are `make run` and `make test`; see README.md.

SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# The site's address in e-mails and printed links (settings.SITE_URL): where `make run` serves, unless SITE_URL is
# set in the environment (a name others reach this machine by, or HOST=0.0.0.0).
SITE_URL ?= http://$(HOST):$(PORT)
ARGS ?=

# Local services for `make test` and `make stack` (PostgreSQL with trust auth, Redis).
PG ?= postgres://postgres@127.0.0.1:5432
REDIS ?= redis://127.0.0.1:6379

# Tests: a database and Redis key prefix of their own per run (see conftest.py); Redis dbs 14 and 15.
TEST_ENV := DEBUG=1 DATABASE_URL=$(PG)/postgres REDIS_URL=$(REDIS)/14 CELERY_BROKER_URL=$(REDIS)/15
# `make test` spreads the tests over this many processes (pytest-xdist), each with a database and key prefix of
# its own; TEST_WORKERS=0 runs them in one process (as does ARGS="-n 0": the last -n given wins). A process that
# runs out of tests takes some from the other (worksteal): a few browser and worker tests take far longer than
# the rest, and should not all land at the end of one process's share.
TEST_WORKERS ?= 2
# The full local stack: database `maritime`, cache on Redis db 0, broker on db 1; two operators are
# reached over HTTP through the operator simulator (150 ms per answer), the others from our inventory.
SIMULATOR := http://127.0.0.1:8100
STACK_ENV := DEBUG=1 DATABASE_URL=$(PG)/maritime REDIS_URL=$(REDIS)/0 CELERY_BROKER_URL=$(REDIS)/1 \
	OPERATOR_API_URLS=CTN=$(SIMULATOR)/CTN,GNV=$(SIMULATOR)/GNV SITE_URL="$(SITE_URL)"

.PHONY: run test faults bench bench-instructions stack lint format migrations check-deploy clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@ $(VENV)/.runtime

# The translation catalogues compiled for Django (locale/*/LC_MESSAGES/django.mo), again whenever one changes; built
# here, never committed (manage.py catalogues: Babel, no GNU gettext needed).
CATALOGUES := locale/.compiled
$(CATALOGUES): $(wildcard locale/*/LC_MESSAGES/django.po) | $(VENV)/.runtime
	DEBUG=1 $(BIN)/python manage.py catalogues compile
	touch $@

## run: the site on the embedded default (SQLite, local-memory cache, eager tasks, demo data) at http://$(HOST):$(PORT)
run: $(VENV)/.runtime $(CATALOGUES)
	SITE_URL="$(SITE_URL)" $(BIN)/python manage.py migrate --noinput
	SITE_URL="$(SITE_URL)" $(BIN)/python manage.py demo_setup
	SITE_URL="$(SITE_URL)" $(BIN)/python manage.py runserver $(HOST):$(PORT)

## test: the whole test suite, against PostgreSQL and Redis (ARGS="-k name" to narrow it); the deployment tests
## are `make check-deploy`'s
test: $(VENV)/.dev $(CATALOGUES)
	$(TEST_ENV) $(BIN)/python -m pytest -n $(TEST_WORKERS) --dist worksteal $(ARGS)

## faults: the fault-injection tests in faults/ (real workers, servers stopped, killed and slowed); not part of `make test`
faults: $(VENV)/.dev $(CATALOGUES)
	$(TEST_ENV) $(BIN)/python -m pytest faults $(ARGS)

## bench: the benchmarks of bench/README.md on the real stack (about 10 minutes); writes bench/results.md and
## bench/results.png. Needs PostgreSQL (PG) and redis-server; installs wrk if missing. Never part of `make test`.
bench: $(VENV)/.dev $(CATALOGUES)
	@command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; }
	BENCH_PG=$(PG) $(BIN)/python bench/run.py $(ARGS)

## bench-instructions: figure 4 (a cache miss against the cache off) counted in instructions by valgrind's callgrind,
## the web process and the cache's Redis (five to ten minutes); ARGS="--against REV" measures a commit beside this
## checkout. Needs PostgreSQL (PG), redis-server and valgrind. Never part of `make test`.
bench-instructions: $(VENV)/.dev $(CATALOGUES)
	BENCH_PG=$(PG) $(BIN)/python bench/instructions.py $(ARGS)

## stack: PostgreSQL + Redis, the web process, one worker per queue, beat, Flower and the operator simulator
stack: $(VENV)/.dev $(CATALOGUES)
	@psql "$(PG)/postgres" -Atc "SELECT 1 FROM pg_database WHERE datname = 'maritime'" | grep -q 1 \
		|| psql "$(PG)/postgres" -qc "CREATE DATABASE maritime"
	$(STACK_ENV) $(BIN)/python manage.py migrate --noinput
	$(STACK_ENV) $(BIN)/python manage.py demo_setup
	$(STACK_ENV) PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho start --procfile Procfile --port $(PORT)

## lint: ruff check and format check, the layers of the code (import-linter's contracts in pyproject.toml), and the
## translation catalogues complete (nothing untranslated or fuzzy, placeholders kept, msgfmt --check)
lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	DEBUG=1 $(BIN)/python manage.py catalogues check

## check-deploy: docker-compose.yml against the Compose Specification schema, then the deployment tests
check-deploy: $(VENV)/.dev
	$(BIN)/check-jsonschema --builtin-schema vendor.compose-spec docker-compose.yml
	$(TEST_ENV) $(BIN)/python -m pytest -q deploy/tests

## format: apply ruff's fixes and formatting
format: $(VENV)/.dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## migrations: write migrations for model changes
migrations: $(VENV)/.runtime
	$(BIN)/python manage.py makemigrations

## clean: remove the virtualenv and local data (var/)
clean:
	rm -rf $(VENV) var $(CATALOGUES) locale/*/LC_MESSAGES/django.mo
