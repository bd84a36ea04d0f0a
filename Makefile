# Two commands on a fresh machine: `make run` and `make test`. The virtualenv is made on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PYTEST := $(BIN)/python -m pytest -p no:cacheprovider

.PHONY: run test test-unit test-integration lint bench clean docs

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[charts,store,dev]'
	touch $(STAMP)

## Everything on one machine: edge, workers and the local Discord, on the embedded defaults.
run: $(STAMP)
	$(BIN)/catalyst-interactions dev

## The whole suite: fast unit tests first, then loopback, database, browser and fault suites.
# The browser suite runs on its own: Playwright's sync API keeps an event loop running in the
# main thread for as long as it is open, which asyncio-based tests cannot share.
test: $(STAMP)
	$(PYTEST) -q -m "not loopback and not redis and not postgres and not browser and not fault"
	$(PYTEST) -q -m "(loopback or redis or postgres or fault) and not browser"
	$(PYTEST) -q -m "browser"

## docs/configuration.md and .env.example, generated from the declarations in settings.py.
docs: $(STAMP)
	$(BIN)/catalyst-interactions config docs

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

## Every DESIGN.md budget, each printed as a ratio against its same-run baseline (~8 minutes).
bench: $(STAMP)
	$(BIN)/python bench/edge_throughput.py
	$(BIN)/python bench/bench_deferred.py --queue sqlite --no-workers
	$(BIN)/python bench/bench_deferred.py --queue sqlite
	$(BIN)/python bench/bench_charts.py
	$(BIN)/python bench/bench_click.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache data
