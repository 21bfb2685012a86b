# Two commands for a fresh machine: `make run` and `make test`. Both first install the Debian packages
# their features need when they may (scripts/system-packages; README.md says what it installs).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
HOST ?= 127.0.0.1
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: run test test-postgres install migrate demo lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install -q -e '.[test]'
	rm -f $(VENV)/.installed-* && touch $(STAMP)

install: $(STAMP)

migrate: install
	$(BIN)/citizenvoice migrate

run: migrate
	@scripts/system-packages run
	$(BIN)/citizenvoice serve --host $(HOST) --port $(PORT)

demo: migrate
	$(BIN)/citizenvoice demo

test: install
	@scripts/system-packages test
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The whole suite on PostgreSQL: a throwaway cluster (initdb + pg_ctl as an unprivileged user, in a
# temporary directory, on 127.0.0.1:$(PG_PORT)), each test's app on its own database, the cluster
# stopped however the run ends. `make test` needs no PostgreSQL.
PG_PORT ?= 55432
test-postgres: install
	@scripts/system-packages test
	@dir=$$(mktemp -d "$${TMPDIR:-/tmp}/citizenvoice-pg.XXXXXX"); \
	trap 'scripts/pg-test-cluster stop "$$dir"; rm -rf "$$dir"' EXIT INT TERM; \
	url=$$(scripts/pg-test-cluster start "$$dir" $(PG_PORT)) || exit 1; \
	CITIZENVOICE_TEST_DATABASE_URL=$$url CITIZENVOICE_TEST_PG_DIR=$$dir $(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check citizenvoice tests bench

# wrk (and nginx for the static reference) from Debian when we may install them; without them run.py
# falls back to its Python load generator and leaves the nginx row out, saying so in the table.
bench: install
	@if ! command -v wrk >/dev/null 2>&1 || ! command -v nginx >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk nginx-light) \
	      || echo "bench: could not install wrk/nginx-light; using the Python load generator"; \
	  else echo "bench: wrk or nginx missing and not root; using the Python load generator"; fi; \
	fi
	$(BIN)/python bench/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache
