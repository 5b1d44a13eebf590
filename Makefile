# The commands the README names. Everything runs from .venv, which the first target creates.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: run test lint format bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml constraints.txt | $(BIN)/python
	$(PIP) -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml constraints.txt | $(BIN)/python
	$(PIP) -e '.[dev]'
	touch $@ $(VENV)/.installed

## run: migrate the SQLite database, load demo data once, serve on http://$(HOST):$(PORT)
run: $(VENV)/.installed
	$(BIN)/arv-analytics db upgrade
	$(BIN)/arv-analytics demo
	$(BIN)/arv-analytics serve --host $(HOST) --port $(PORT)

## test: the whole suite, on SQLite and (when reachable, always with CI=true) PostgreSQL
test: $(VENV)/.installed-dev
	$(BIN)/pytest $(PYTEST_ARGS)

## lint: ruff and mypy, as CI runs them
lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests migrations
	$(BIN)/ruff format --check src tests migrations
	$(BIN)/mypy

format: $(VENV)/.installed-dev
	$(BIN)/ruff check --fix src tests migrations
	$(BIN)/ruff format src tests migrations

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
