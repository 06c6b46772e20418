# The two commands of the README: `make run` and `make test`. Both need only Python >= 3.11.
PYTHON ?= python3
VENV ?= .venv
CONFIG ?= data/federation.toml
# make run PORT=N: the demo site on http://127.0.0.1:N (when data/federation.toml is written).
PORT ?=
BIN := $(VENV)/bin
# The locked sets (hashes): production (the Dockerfile installs it too), production + test tools,
# and the independent verifiers that pin their own libraries (a separate virtualenv).
LOCK := requirements/main.txt
TEST_LOCK := requirements/test.txt
VERIFIERS_LOCK := requirements/verifiers.txt
VERIFIERS := .venv-verifiers
LATEST := .venv-latest
TOOLS := .venv-tools

.PHONY: run test test-latest lint venv venv-test verifiers lock clean migrations bench messages

$(BIN)/python:
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Python >= 3.11 is required")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml $(LOCK)
	$(BIN)/python -m pip install --quiet --require-hashes -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed pyproject.toml $(TEST_LOCK)
	$(BIN)/python -m pip install --quiet --require-hashes -r $(TEST_LOCK)
	touch $@

$(VERIFIERS)/.installed: $(VERIFIERS_LOCK)
	$(PYTHON) -m venv $(VERIFIERS)
	$(VERIFIERS)/bin/python -m pip install --quiet --upgrade pip
	$(VERIFIERS)/bin/python -m pip install --quiet --require-hashes -r $(VERIFIERS_LOCK)
	touch $@

venv: $(VENV)/.installed
venv-test: $(VENV)/.installed-test
## make verifiers: bovine (it caps cryptography and pyld) in its own virtualenv, for the tests.
verifiers: $(VERIFIERS)/.installed

## make run: create the virtualenv, initialise the demo site in ./data (SQLite), serve it
## (PORT=N: on port N instead of 8080, for a new ./data).
run: venv
	@test -f $(CONFIG) || $(BIN)/federation --config $(CONFIG) init \
	  $(if $(PORT),--base-url http://127.0.0.1:$(PORT))
	$(BIN)/federation --config $(CONFIG) migrate
	$(BIN)/federation --config $(CONFIG) demo
	$(BIN)/federation --config $(CONFIG) serve

## make test: the lint, then the whole suite on the locked versions (PostgreSQL too when
## FEDERATION_TEST_DATABASE_URL is set).
test: lint verifiers
	FEDERATION_TEST_LOCKED=1 $(BIN)/python -m pytest -q -ra $(PYTEST_ARGS)

## make test-latest: the suite without the slow tests on the newest releases of every
## dependency (no lock): a breaking upgrade shows here before users install it.
test-latest: verifiers
	rm -rf $(LATEST)
	$(PYTHON) -m venv $(LATEST)
	$(LATEST)/bin/python -m pip install --quiet --upgrade pip
	$(LATEST)/bin/python -m pip install --quiet --upgrade --upgrade-strategy eager -e '.[test]'
	$(LATEST)/bin/python -m pip list --format=freeze > $(LATEST)/tested-versions.txt
	$(LATEST)/bin/python -m pytest -q -ra -m "not slow" -p no:cacheprovider $(PYTEST_ARGS)

## make lock: re-resolve the lock files from pyproject.toml (developers, after a dependency
## change; `make lock LOCK_ARGS=--upgrade` takes the newest releases; docs/dependencies.md).
lock:
	test -x $(TOOLS)/bin/pip-compile || ($(PYTHON) -m venv $(TOOLS) && \
	  $(TOOLS)/bin/python -m pip install --quiet pip-tools)
	$(TOOLS)/bin/pip-compile --quiet $(LOCK_ARGS) --generate-hashes --strip-extras --allow-unsafe \
	  --no-emit-index-url --no-emit-find-links -o $(LOCK) pyproject.toml
	$(TOOLS)/bin/pip-compile --quiet $(LOCK_ARGS) --generate-hashes --strip-extras --allow-unsafe \
	  --no-emit-index-url --no-emit-find-links --extra test -o $(TEST_LOCK) pyproject.toml
	$(TOOLS)/bin/pip-compile --quiet $(LOCK_ARGS) --generate-hashes --strip-extras --allow-unsafe \
	  --no-emit-index-url --no-emit-find-links -o $(VERIFIERS_LOCK) requirements/verifiers.in

## make lint: ruff and mypy (strict for federation/), as configured in pyproject.toml.
lint: venv-test
	$(BIN)/ruff check federation tests bench tools
	$(BIN)/mypy

## make messages: extract the message keys of the templates and the code (pybabel, babel.cfg)
## and update every federation/locale/<lang>/LC_MESSAGES/federation.po (docs/translating.md).
messages: venv
	$(BIN)/pybabel -q extract -F babel.cfg -k _ --no-default-keywords --sort-by-file --add-location=file \
	  --omit-header -o federation/locale/federation.pot .
	$(BIN)/python tools/messages.py

## make migrations: write the migrations for changed models (developers only).
migrations: venv
	$(BIN)/python -m federation.db.makemigrations

bench: venv-test
	$(BIN)/python bench/signing.py

clean:
	rm -rf $(VENV) $(VERIFIERS) $(LATEST) data .pytest_cache
