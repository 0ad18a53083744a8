# geo_grid: `make run` serves the API on an embedded PostGIS; `make test` runs the whole suite.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup run test test-fast lint bench clean-db

setup: $(STAMP) maps/node_modules/.installed
	@bash scripts/setup_system.sh

# The maps' JavaScript/CSS (Leaflet and plugins), served by geo_grid itself: no CDN at run time.
maps/node_modules/.installed: maps/package.json maps/package-lock.json
	@bash scripts/setup_system.sh
	cd maps && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

$(STAMP): pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	@touch $(STAMP)

run: setup
	$(VENV)/bin/geo-grid up

# One pytest worker per core (at most 4), each with its own PostGIS cluster; a file's tests stay together.
test: setup
	$(VENV)/bin/pytest -n auto --maxprocesses 4 --dist loadfile

# The unit tests alone (no database, no browser): seconds.
test-fast: $(STAMP)
	$(VENV)/bin/pytest tests/unit -q

lint: setup
	$(VENV)/bin/ruff check geo_grid tests
	$(VENV)/bin/ruff format --check geo_grid tests
	$(VENV)/bin/mypy

bench: setup
	$(PY) benchmarks/lookup.py

clean-db:
	rm -rf .geo_grid
