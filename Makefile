# The two commands a new user needs:  make run   and   make test
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install run test test-fast ui lint bench clean

# Creates the virtual environment and installs the pinned ranges of pyproject.toml
# (uv when it can be had: about 10 s instead of 90 s with pip), then parses the dbt
# project so that the Dagster definitions load without a dbt step of their own.
# Bytecode is compiled at install (uv does not by default): every run starts several
# Python processes (Dagster, dbt twice) and, without .pyc files, each would recompile
# dagster, dbt and GX from source, about 3 s a process.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	($(BIN)/python -m pip install -q uv \
		&& $(BIN)/uv pip install -q --compile-bytecode --python $(BIN)/python -e '.[dev]') \
		|| $(BIN)/python -m pip install -q -e '.[dev]'
	cd dbt_project && ../$(BIN)/dbt parse --quiet --profiles-dir .
	touch $(STAMP)

install: $(STAMP)

run: install  ## the nightly job once, end to end (sample exports unless SEGMENTS_EXPORTS_DIR is set)
	$(BIN)/segments run

# Two workers: a run of the job keeps a core busy about 70% of its time (the rest is
# process starts and I/O), so two use both cores of a 2-core machine. TEST_WORKERS=0: serial.
TEST_WORKERS ?= 2
test: install  ## the whole test suite
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile

# The pure business-rule and loader tests (no Dagster job, no dbt), about 20 s: the files
# named in FAST_FILES of tests/conftest.py, which gives their tests the `fast` marker.
test-fast: install  ## the fast tests only (pytest -m fast)
	$(BIN)/pytest -m fast

ui: install  ## the Dagster UI on http://127.0.0.1:3000
	$(BIN)/segments ui

# Python style (ruff), the dbt models' SQL (sqlfluff, configured in .sqlfluff: compiles
# with dbt against an in-memory database, never the warehouse) and the business rules'
# and quality suites' types (mypy, [tool.mypy] in pyproject.toml).
lint: install
	$(BIN)/ruff check pipelines assets expectations sample_data tests benchmarks
	$(BIN)/ruff format --check pipelines assets expectations sample_data tests benchmarks
	$(BIN)/sqlfluff lint dbt_project/models
	$(BIN)/mypy assets expectations

# Medians of three runs each of the baseline, a full night and the incremental night
# after it; BENCH_ARGS adds flags: make bench BENCH_ARGS="--clients 1000000
# --memory-limit 6GB".
bench: install  ## benchmark at 100,000 clients against a plain DuckDB baseline
	$(BIN)/python -m benchmarks.run_benchmark --clients 100000 --repeat 3 --incremental $(BENCH_ARGS)

clean:
	rm -rf $(VENV) data dbt_project/target dbt_project/logs
