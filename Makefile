# Madoguchi: `make run` serves the portal, `make test` runs the whole suite.
# Both install what they need on a fresh Debian machine (with sudo when not root).

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app app
PORT ?= 5000
export PORTAL_ENV ?= development

# WeasyPrint's libraries and a Japanese font; the tests add PostgreSQL, Chromium and Redis.
RUN_PACKAGES := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-noto-cjk
TEST_PACKAGES := postgresql chromium redis-server
# The benchmarks load the portal over HTTP with wrk.
BENCH_PACKAGES := wrk

PO_FILES := $(wildcard portal/translations/*/LC_MESSAGES/messages.po)
MO_FILES := $(PO_FILES:.po=.mo)

.PHONY: help run test bench bench-quick install install-test translations extract-messages lint format clean

help:
	@echo "make run    install, migrate, load the definitions and serve on http://127.0.0.1:$(PORT)"
	@echo "make test   install what the tests need and run the suite on SQLite and PostgreSQL"
	@echo "make bench  reproduce the figures in docs/PERFORMANCE.md (bench-quick: a short check)"
	@echo "make lint   ruff"

run: install
	$(FLASK) db upgrade
	$(FLASK) procedures load
	$(FLASK) demo seed
	$(FLASK) run --host 127.0.0.1 --port $(PORT)

test: install-test
	scripts/run-tests.sh

install: $(VENV)/.installed $(MO_FILES)

install-test: $(VENV)/.installed-test $(MO_FILES)

$(VENV)/.system-packages: scripts/ensure-packages.sh
	scripts/ensure-packages.sh $(RUN_PACKAGES)
	@mkdir -p $(VENV) && touch $@

$(VENV)/.system-packages-test: scripts/ensure-packages.sh
	scripts/ensure-packages.sh $(RUN_PACKAGES) $(TEST_PACKAGES)
	@mkdir -p $(VENV) && touch $@

$(VENV)/.system-packages-bench: scripts/ensure-packages.sh
	scripts/ensure-packages.sh $(RUN_PACKAGES) $(TEST_PACKAGES) $(BENCH_PACKAGES)
	@mkdir -p $(VENV) && touch $@

$(BIN)/python:
	scripts/ensure-venv.sh $(PYTHON) $(VENV)

$(VENV)/.installed: pyproject.toml $(VENV)/.system-packages | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.system-packages-test | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	@touch $@ $(VENV)/.installed

$(VENV)/.installed-bench: pyproject.toml $(VENV)/.system-packages-bench $(MO_FILES) | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,bench]"
	@touch $@ $(VENV)/.installed-test $(VENV)/.installed

translations: $(MO_FILES)

%.mo: %.po | $(VENV)/.installed
	$(BIN)/pybabel compile --statistics -i $< -o $@

# Re-extract the messages and merge them into the catalogues (translators then fill them in).
extract-messages: install
	$(BIN)/pybabel extract -F babel.cfg -k _l --no-location --sort-output -o portal/translations/messages.pot .
	$(BIN)/pybabel update -i portal/translations/messages.pot -d portal/translations --no-fuzzy-matching --ignore-obsolete

# Reproduce the figures in docs/PERFORMANCE.md (about 35 minutes on 2 cores; the
# PostgreSQL ones on a throw-away cluster). bench-quick runs the same scripts briefly,
# to check that they work; its figures mean nothing.
bench: $(VENV)/.installed-bench
	$(BIN)/python bench/engine_page.py 5000
	$(BIN)/python bench/receipt_pdf.py
	scripts/with-postgres.sh $(BIN)/python bench/http_form_page.py --duration 30
	$(BIN)/python bench/profile_form_page.py --requests 300
	scripts/with-postgres.sh $(BIN)/python bench/profile_form_page.py --database postgresql --requests 300
	scripts/with-postgres.sh $(BIN)/python bench/submit.py --submits 200
	scripts/with-postgres.sh $(BIN)/python bench/worklist.py --sizes 1000 1000000
	scripts/with-postgres.sh $(BIN)/python bench/soak.py --database postgresql --duration 600

bench-quick: $(VENV)/.installed-bench
	$(BIN)/python bench/engine_page.py 500
	$(BIN)/python bench/receipt_pdf.py 3
	scripts/with-postgres.sh $(BIN)/python bench/http_form_page.py --duration 5 --warmup 2
	$(BIN)/python bench/profile_form_page.py --requests 20
	scripts/with-postgres.sh $(BIN)/python bench/submit.py --submits 20
	scripts/with-postgres.sh $(BIN)/python bench/worklist.py --sizes 1000 10000 --repeat 5 --depth 5
	$(BIN)/python bench/soak.py --database sqlite --duration 30 --sample 5

lint: install-test
	$(BIN)/ruff check .

format: install-test
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) instance/*.sqlite3* .pytest_cache .ruff_cache
