# The two quick-start commands of the README, and what they need.
# `make demo`: set up, train configs/spy.yaml on the bundled SPY bars, backtest, report.
# `make test`: set up (with Chromium for the report test) and run the test suite.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test setup setup-test chromium lint

demo: setup
	$(BIN)/tradenn train configs/spy.yaml --backtest

test: setup-test chromium
	$(BIN)/pytest

setup: $(VENV)/.installed
setup-test: $(VENV)/.installed-test

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/pip install --quiet -e ".[test]"
	touch $@

# Debian's Chromium renders report.html in the browser test.
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null; }

lint: setup-test
	$(BIN)/ruff check tradenn tests scripts
