# Everything installs itself: `make demo` and `make test` work on a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: demo test lint format defaults bench clean

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(INSTALLED)

profiles.yml: profiles.example.yml
	cp profiles.example.yml profiles.yml

## demo: simulate the win-back campaign (ARGS="--customers 5000 --days 10" to change it)
demo: $(INSTALLED) profiles.yml
	$(BIN)/decisioning demo $(ARGS)

## test: lint, then every test (pytest drives dbt for the end-to-end and dbt tests, and
## Debian's Chromium for the report: installed here when missing; without it tests fail).
## Two workers, one test file each at a time (tests/conftest.py gives each its dbt target).
test: export DECISIONING_REQUIRE_CHROMIUM := 1
test: $(INSTALLED) profiles.yml lint
	command -v chromium >/dev/null || \
		(apt-get update && apt-get install -y --no-install-recommends chromium)
	$(BIN)/pytest -n 2 --dist loadfile

lint: $(INSTALLED)
	$(BIN)/ruff check python tests benchmarks models
	$(BIN)/ruff format --check python tests benchmarks models
	$(BIN)/mypy

format: $(INSTALLED)
	$(BIN)/ruff check --fix python tests benchmarks models
	$(BIN)/ruff format python tests benchmarks models

## defaults: regenerate the Jinja copy of the config defaults
defaults: $(INSTALLED)
	$(BIN)/python -m decisioning.config > macros/config/decisioning_defaults.sql

## bench: speed and learning benchmarks (not part of `make test`); results in benchmarks/results/
bench: $(INSTALLED) profiles.yml
	$(BIN)/pip install --quiet -e '.[bench]'
	$(BIN)/python benchmarks/bench_decide.py
	$(BIN)/python benchmarks/bench_guardrails.py
	$(BIN)/python benchmarks/bench_fit.py
	$(BIN)/python benchmarks/bench_learning.py
	$(BIN)/python benchmarks/bench_daily_cycle.py
	$(BIN)/python benchmarks/bench_reporting.py
	$(BIN)/python benchmarks/bench_llm.py
	$(BIN)/python benchmarks/bench_snowflake.py
	$(BIN)/python benchmarks/bench_history.py --decisions 100000,10000000

clean:
	rm -rf target logs $(VENV) decisioning.duckdb decisioning.duckdb.wal decisioning_report.html
