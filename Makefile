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

# WeasyPrint's libraries and a Japanese font; the tests add PostgreSQL and Chromium.
RUN_PACKAGES := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-noto-cjk
TEST_PACKAGES := postgresql chromium

PO_FILES := $(wildcard portal/translations/*/LC_MESSAGES/messages.po)
MO_FILES := $(PO_FILES:.po=.mo)

.PHONY: help run test bench install install-test translations extract-messages lint format clean

help:
	@echo "make run    install, migrate, load the definitions and serve on http://127.0.0.1:$(PORT)"
	@echo "make test   install what the tests need and run the suite on SQLite and PostgreSQL"
	@echo "make bench  reproduce the figures in docs/PERFORMANCE.md"
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

translations: $(MO_FILES)

%.mo: %.po | $(VENV)/.installed
	$(BIN)/pybabel compile --statistics -i $< -o $@

# Re-extract the messages and merge them into the catalogues (translators then fill them in).
extract-messages: install
	$(BIN)/pybabel extract -F babel.cfg -k _l --no-location --sort-output -o portal/translations/messages.pot .
	$(BIN)/pybabel update -i portal/translations/messages.pot -d portal/translations --no-fuzzy-matching --ignore-obsolete

# Reproduce the figures in docs/PERFORMANCE.md.
bench: install-test
	$(BIN)/python bench/engine_page.py 5000
	$(BIN)/python bench/receipt_pdf.py

lint: install-test
	$(BIN)/ruff check .

format: install-test
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) instance/*.sqlite3* .pytest_cache .ruff_cache
