# The two commands: `make run` serves the demo, `make test` runs every check.
VENV := .venv
BIN := $(VENV)/bin
PYTHON ?= python3
APP_STAMP := $(VENV)/.installed-app
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: install install-app run test lint pytest bench clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The service alone, for `make run`; the tools and test libraries too, for everything else.
$(APP_STAMP): pyproject.toml | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet -e .
	touch $(APP_STAMP)

$(DEV_STAMP): pyproject.toml | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(APP_STAMP) $(DEV_STAMP)

install-app: $(APP_STAMP)

install: $(DEV_STAMP)

run: install-app
	$(BIN)/cmr demo
	$(BIN)/cmr serve

lint: install
	$(BIN)/ruff check app tests bench
	$(BIN)/ruff format --check app tests bench migrations
	$(BIN)/mypy app
	$(BIN)/lint-imports
	$(BIN)/hadolint Dockerfile

pytest: install
	$(BIN)/python -m pytest -q

test: lint pytest

bench: install
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
