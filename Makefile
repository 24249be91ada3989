# The two commands: `make run` serves the demo, `make test` runs every check.
VENV := .venv
BIN := $(VENV)/bin
PYTHON ?= python3
APP_STAMP := $(VENV)/.installed-app
DEV_STAMP := $(VENV)/.installed-dev
CHROMIUM := /usr/bin/chromium
AXE_STAMP := node_modules/.installed-axe

.PHONY: install install-app browser-tools run test lint pytest bench messages clean

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

# The browser tests drive Debian's chromium (Playwright's own browsers cannot be downloaded here);
# the binary is its own stamp, so a removed browser is installed again.
$(CHROMIUM):
	apt-get update -qq && apt-get install -y -qq chromium

# axe-core, the accessibility check the browser tests inject into every page, pinned by the lock.
$(AXE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $(AXE_STAMP)

browser-tools: $(CHROMIUM) $(AXE_STAMP)

run: install-app
	$(BIN)/cmr demo
	$(BIN)/cmr serve

lint: install
	$(BIN)/ruff check app tests bench
	$(BIN)/ruff format --check app tests bench migrations
	$(BIN)/mypy app
	$(BIN)/lint-imports
	$(BIN)/hadolint Dockerfile

pytest: install browser-tools
	$(BIN)/python -m pytest -q

test: lint pytest

bench: install
	$(BIN)/python -m bench

# After changing user-visible text: extract it, merge it into the German catalog, then translate
# what `tests/unit/test_translations.py` lists.
messages: install
	$(BIN)/pybabel extract -F babel.cfg -k N_ --no-location --sort-output --omit-header \
		-o locale/messages.pot .
	$(BIN)/pybabel update -i locale/messages.pot -d locale -l de --no-fuzzy-matching --ignore-obsolete --omit-header

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis node_modules tests/artifacts
