# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: setup run test lint typecheck bench clean screenshots

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

run: setup
	$(BIN)/python -m system.run

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check domain workflows activities store web cli system audit simulation worker.py

typecheck: setup
	$(BIN)/mypy domain workflows activities store web cli system audit simulation worker.py

test: setup lint typecheck
	$(BIN)/pytest -q -p no:cacheprovider

# Every benchmark, each printing its ratio against a baseline measured in the same run (short
# runs; see bench/README.md for the options that make them longer).
bench: setup
	$(BIN)/python bench/store_append.py
	$(BIN)/python bench/append_wal_frames.py
	$(BIN)/python bench/history_growth.py --commands 300
	$(BIN)/python bench/simulate_vs_bare.py --subjects 40 --unsandboxed
	$(BIN)/python bench/rest_vs_gateway.py --seconds 3
	$(BIN)/python bench/workers_pg.py --seconds 4
	$(BIN)/python bench/audit_throughput.py --cohort 300
	$(BIN)/python bench/simulate.py --subjects 50

clean:
	rm -rf $(VENV) .data build *.egg-info

# Refresh the README's pictures (docs/*.png) from the browser tests' screenshots.
screenshots: setup
	JY231_UPDATE_DOCS=1 $(BIN)/pytest -q -p no:cacheprovider tests/web/test_dashboard_browser.py \
	  tests/web/test_pictures_browser.py tests/cli/test_demo_seed.py
