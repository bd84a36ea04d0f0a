# Two commands on a fresh machine: `make run` and `make test`. The virtualenv is made on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PYTEST := $(BIN)/python -m pytest -p no:cacheprovider

.PHONY: run test test-unit test-integration lint bench bench-hostile bench-scale soak clean docs lock

# Installs exactly the versions in requirements/dev.txt (the lock file; `make lock` renews it),
# then the project itself without resolving anything again.
$(STAMP): pyproject.toml requirements/dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements/dev.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

## Renew the lock files from pyproject.toml's ranges (pip-tools): requirements/runtime.txt is
## what a plain install resolves to (the clean-install test uses it), dev.txt adds the tools.
LOCK := $(BIN)/pip-compile --quiet --strip-extras --allow-unsafe --no-emit-index-url --no-emit-find-links
lock: $(STAMP)
	$(LOCK) -o requirements/runtime.txt pyproject.toml
	$(LOCK) --extra redis --extra dev -o requirements/dev.txt pyproject.toml

## Everything on one machine: edge, workers and the local Discord, on the embedded defaults.
run: $(STAMP)
	$(BIN)/catalyst-interactions dev

## The whole suite, and everything it needs: tools/test-setup installs workerd (npm ci),
## chromium and wrk (as root) and starts PostgreSQL and Redis when they are installed and down.
## Unit tests first, then loopback, database, fault and clean-install suites, then the browser.
# The browser suite runs on its own: Playwright's sync API keeps an event loop running in the
# main thread for as long as it is open, which asyncio-based tests cannot share.
test: $(STAMP)
	tools/test-setup
	$(PYTEST) -q -m "not loopback and not redis and not postgres and not browser and not fault and not install"
	$(PYTEST) -q -m "(loopback or redis or postgres or fault or install) and not browser"
	$(PYTEST) -q -m "browser"

## docs/configuration.md and .env.example, generated from the declarations in settings.py.
docs: $(STAMP)
	$(BIN)/catalyst-interactions config docs

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

## Every docs/design.md budget, each printed as a ratio against its same-run baseline (~8 minutes).
bench: $(STAMP)
	$(BIN)/python bench/edge_throughput.py
	$(BIN)/python bench/bench_deferred.py --queue sqlite --no-workers
	$(BIN)/python bench/bench_deferred.py --queue sqlite
	$(BIN)/python bench/bench_charts.py
	$(BIN)/python bench/bench_click.py

## Hostile input: 100,000 fuzz cases, then a 1,000,000-request soak whose RSS curve becomes
# docs/hostile-soak-rss.png (each bounded; ~10-30 minutes on 2 shared cores; needs wrk).
bench-hostile: $(STAMP)
	$(BIN)/python bench/bench_hostile.py --cases 100000
	$(BIN)/python bench/soak_hostile.py --requests 1000000 --png docs/hostile-soak-rss.png

## serve's process layouts (300 deferred /chart a second, split vs single) and PING, inline and
## deferred throughput for 1 and 2 edge processes (~10 minutes; docs/performance.md).
bench-scale: $(STAMP)
	$(BIN)/python bench/bench_layouts.py
	$(BIN)/python bench/bench_processes.py

## 30 minutes of the scale-out mix at a steady rate; PNG charts into docs/perf (not in make test).
soak: $(STAMP)
	$(BIN)/python bench/soak.py --minutes 30 --rate 3

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache data
