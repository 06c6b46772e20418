# The two commands of the README: `make run` and `make test`. Both need only Python >= 3.11.
PYTHON ?= python3
VENV ?= .venv
CONFIG ?= data/federation.toml
BIN := $(VENV)/bin

.PHONY: run test lint venv venv-test clean migrations bench

$(BIN)/python:
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Python >= 3.11 is required")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

venv: $(VENV)/.installed
venv-test: $(VENV)/.installed-test

## make run: create the virtualenv, initialise the demo site in ./data (SQLite), serve it.
run: venv
	@test -f $(CONFIG) || $(BIN)/federation --config $(CONFIG) init
	$(BIN)/federation --config $(CONFIG) migrate
	$(BIN)/federation --config $(CONFIG) demo
	$(BIN)/federation --config $(CONFIG) serve

## make test: the lint, then the whole suite (PostgreSQL too when FEDERATION_TEST_DATABASE_URL is set).
test: lint
	$(BIN)/python -m pytest -q -ra $(PYTEST_ARGS)

## make lint: ruff and mypy (strict for federation/), as configured in pyproject.toml.
lint: venv-test
	$(BIN)/ruff check federation tests bench
	$(BIN)/mypy

## make migrations: write the migrations for changed models (developers only).
migrations: venv
	$(BIN)/python -m federation.db.makemigrations

bench: venv-test
	$(BIN)/python bench/signing.py

clean:
	rm -rf $(VENV) data .pytest_cache
