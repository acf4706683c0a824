# OCOP Trade Connect — two commands for a newcomer: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
PORT ?= 5000
PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
# Test processes (pytest-xdist): one per core; each has its own SQLite file or PostgreSQL database.
PYTEST_WORKERS ?= auto
PYTEST := $(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
MO_FILES := $(patsubst %.po,%.mo,$(wildcard translations/*/LC_MESSAGES/messages.po))

.PHONY: run test test-sqlite test-postgres lint format install chromium translations translations-update bench audit clean

$(BIN)/.installed: requirements.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.txt
	@touch $@

install: $(BIN)/.installed translations

translations: $(MO_FILES)

translations/%/LC_MESSAGES/messages.mo: translations/%/LC_MESSAGES/messages.po $(BIN)/.installed
	$(BIN)/pybabel -q compile -d translations -l $*

# After adding or changing UI strings: extract the Vietnamese msgids, merge them into every
# catalogue (existing translations kept), then list what still needs an English msgstr.
translations-update: $(BIN)/.installed
	$(BIN)/pybabel -q extract -F babel.cfg -k _l -k lazy_gettext --add-comments=Translators: \
		--no-location --sort-output -o translations/messages.pot .
	$(BIN)/pybabel -q update -i translations/messages.pot -d translations
	$(BIN)/python scripts/untranslated.py || true

run: install
	$(FLASK) db upgrade
	@if [ "$$($(FLASK) seed-demo --if-empty --check)" = "empty" ]; then \
		echo "Loading demo data (first run)…"; $(FLASK) seed-demo; \
	else echo "Database has data: demo data not loaded again."; fi
	$(FLASK) run --host 127.0.0.1 --port $(PORT)

chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
		echo "Installing Debian's chromium for the browser tests…"; \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium >/dev/null; \
	fi

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: install chromium lint test-sqlite test-postgres

test-sqlite: install
	@echo "== Test suite on SQLite =="
	env -u TEST_DATABASE_URL $(PYTEST)

test-postgres: install
	@if [ -n "$$TEST_DATABASE_URL" ]; then \
		echo "== Test suite on PostgreSQL ($$TEST_DATABASE_URL) =="; \
		$(PYTEST) -m "not e2e"; \
	elif $(BIN)/python -c "import socket,sys; s=socket.socket(); s.settimeout(2); sys.exit(s.connect_ex(('127.0.0.1',5432)))"; then \
		echo "== Test suite on PostgreSQL ($(PG_URL)) =="; \
		TEST_DATABASE_URL=$(PG_URL) $(PYTEST) -m "not e2e"; \
	else \
		echo "== PostgreSQL run skipped: no server answers on 127.0.0.1:5432 and TEST_DATABASE_URL is unset =="; \
	fi

bench: install
	$(BIN)/python -m pip install -q -r bench/requirements.txt
	$(BIN)/python bench/search_bench.py
	$(BIN)/python bench/schedule_bench.py

# Known vulnerabilities in the pinned requirements (needs PyPI's or OSV's advisory data; see
# docs/security-audit.md: from this closed network it cannot check, and --strict makes that fail).
audit: install
	$(BIN)/python -m pip install -q pip-audit==2.10.1
	$(BIN)/pip-audit -r requirements.txt --no-deps --disable-pip --strict --progress-spinner off

clean:
	rm -rf $(VENV) instance .pytest_cache
