# Two commands work on a fresh machine: `make demo` and `make test`.
# Each creates or refreshes .venv (and the codex npm cache for tests) before it runs.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
CODEX_VERSION := 0.169.0
CODEX_PREFIX := .cache/codex
CODEX_STAMP := $(CODEX_PREFIX)/.installed-$(CODEX_VERSION)
# pytest-xdist workers for `make test`. Most tests wait (think times, subprocesses, leases,
# codex) rather than compute: on 2 cores the suite used 0.8 core on 2 workers and 1.3 on 3,
# for the same CPU seconds (~320 s). `make test TEST_WORKERS=0` runs it in one process.
TEST_WORKERS ?= 3

.PHONY: setup codex demo test lint typecheck bench soak clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

# The real codex binary, from the npm registry, into an ignored cache (once per machine).
$(CODEX_STAMP):
	mkdir -p $(CODEX_PREFIX)
	npm install -g --prefix $(CODEX_PREFIX) --no-audit --no-fund @openai/codex@$(CODEX_VERSION)
	touch $(CODEX_STAMP)

codex: $(CODEX_STAMP)

demo: setup
	$(BIN)/teammesh demo

lint: setup
	$(BIN)/ruff check src tests examples bench

typecheck: setup
	$(BIN)/mypy

test: setup codex lint typecheck
	$(BIN)/pytest -q -n $(TEST_WORKERS) --dist worksteal --durations=20  # the slowest named: under 10 min

bench: setup
	$(BIN)/python -m bench

soak: setup
	$(BIN)/python -m bench.soak

clean:
	rm -rf $(VENV) .cache .pytest_cache .mypy_cache .ruff_cache
