# The commands the README names. Everything runs from .venv, which the first target creates.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt
HOST   ?= 127.0.0.1
PORT   ?= 8000
VENDOR := web/vendor
# When `make vendor` has installed MindAR and three.js, `make run` serves them itself (no CDN
# needed); otherwise the viewer loads them from the default CDN. ARV_VIEWER_ASSETS_URL wins.
LOCAL_ASSETS := $(if $(wildcard $(VENDOR)/node_modules/mind-ar/package.json),/assets/vendor)

.PHONY: run test lint format vendor bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml constraints.txt | $(BIN)/python
	$(PIP) -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml constraints.txt | $(BIN)/python
	$(PIP) -e '.[dev]'
	touch $@ $(VENV)/.installed

## run: migrate the SQLite database, load demo data once, serve on http://$(HOST):$(PORT);
## with npm present, first install the dashboard's Chart.js (and the viewer's libraries) locally
run: $(VENV)/.installed $(if $(shell command -v npm),vendor)
	$(BIN)/arv-analytics db upgrade
	$(BIN)/arv-analytics demo
	$(if $(LOCAL_ASSETS),ARV_VIEWER_ASSETS_URL="$${ARV_VIEWER_ASSETS_URL:-$(LOCAL_ASSETS)}") \
	  $(BIN)/arv-analytics serve --host $(HOST) --port $(PORT)

## vendor: install the dashboard's Chart.js and the viewer's MindAR and three.js from npm into
## web/vendor (served by the app: no CDN); --ignore-scripts: only the prebuilt dist files are used
vendor: $(VENDOR)/node_modules/.installed

$(VENDOR)/node_modules/.installed: $(VENDOR)/package.json $(VENDOR)/package-lock.json
	cd $(VENDOR) && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $@

## test: the whole suite, on SQLite and (when reachable, always with CI=true) PostgreSQL;
## the browser tests run when /usr/bin/chromium and `make vendor` are there (always in CI)
test: $(VENV)/.installed-dev
	$(BIN)/pytest $(PYTEST_ARGS)

## lint: ruff and mypy, as CI runs them
lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests
	$(BIN)/mypy

## bench: the ingest and query benchmarks (scripts, not tests; see bench/README.md)
bench: $(VENV)/.installed-dev
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/query.py

format: $(VENV)/.installed-dev
	$(BIN)/ruff check --fix src tests
	$(BIN)/ruff format src tests

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache $(VENDOR)/node_modules
