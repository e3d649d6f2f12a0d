# Everything runs from a local virtualenv built from uv.lock; only python3 and make are needed.
PYTHON ?= python3
VENV ?= .venv
UV_VERSION := 0.13.9
BIN := $(VENV)/bin
STAMP := $(VENV)/.synced-$(shell cat uv.lock pyproject.toml | cksum | cut -d' ' -f1)
PYTEST_ARGS ?=
# Tests wait on loopback HTTP and subprocesses more than on the CPU: two workers fit 2 cores.
PYTEST_WORKERS ?= 2
# The Airflow 2.11 compatibility lane has its own environment, pinned by ci/airflow-2.11.txt.
AF2_VENV ?= .venv-airflow2
AF2_TESTS ?= tests/test_resources.py tests/test_provider_registration.py tests/hook tests/operators tests/transfers

.PHONY: help venv demo airflow test test-fast soak test-airflow2 lint format sandbox clean bench bench-full bench-venv \
	test-celery dist test-wheel

help:
	@echo "make demo       the example DAGs against a local sandbox into a SQLite warehouse"
	@echo "make airflow    Airflow's UI (standalone) with the example DAGs and a sandbox on :8080"
	@echo "make test       run the whole test suite (bootstraps $(VENV) from uv.lock)"
	@echo "make test-fast  the inner loop: no Airflow or other subprocesses, no PostgreSQL/MariaDB, no benchmarks"
	@echo "make soak       the reliability suite at soak scale (chaos, crashes, a minute of load), with figures"
	@echo "make test-airflow2  a second lane on Airflow 2.11 (hook, operators, transfers, one DAG run)"
	@echo "make test-celery  the example DAGs on CeleryExecutor (PostgreSQL, Redis, two workers), checked"
	@echo "make dist       build the wheel and sdist into dist/ and check them (twine, file lists)"
	@echo "make test-wheel install the built wheel into a clean venv and run the provider from it"
	@echo "make bench      quick benchmarks (writes docs/benchmarks.md); make bench-full for the issues' sizes"
	@echo "make lint       ruff check, ruff format --check and mypy"
	@echo "make format     apply ruff formatting and safe fixes"
	@echo "make sandbox    run a local Smart ARENA sandbox on 127.0.0.1:8765"

venv: $(STAMP)

$(STAMP): uv.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@test -x $(BIN)/uv || $(BIN)/python -m pip --version >/dev/null 2>&1 || $(BIN)/python -m ensurepip --default-pip >/dev/null
	@test -x $(BIN)/uv || $(BIN)/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"
	VIRTUAL_ENV=$(abspath $(VENV)) UV_PROJECT_ENVIRONMENT=$(abspath $(VENV)) $(BIN)/uv sync --frozen --python $(BIN)/python
	@rm -f $(VENV)/.synced-*
	@touch $@

demo: venv
	$(BIN)/python scripts/demo.py

airflow: venv
	$(BIN)/python scripts/airflow_ui.py

test: venv
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

# The markers are given by tests/conftest.py from what each test uses (see its comments).
FAST_MARKERS := not airflow_subprocess and not database and not child_process and not bench and not slow
# The fast loop mostly waits (loopback servers, polls, backoffs): two workers kept 2 cores ~40% busy,
# a third cut its wall time by a sixth.
FAST_WORKERS ?= 3

test-fast: venv
	$(BIN)/python -m pytest -n $(FAST_WORKERS) -m "$(FAST_MARKERS)" $(PYTEST_ARGS)

soak: venv
	$(BIN)/python tests/reliability/soak.py $(PYTEST_ARGS)

test-airflow2: venv
	@test -x $(AF2_VENV)/bin/python || $(PYTHON) -m venv $(AF2_VENV)
	$(BIN)/uv pip sync --quiet --python $(AF2_VENV)/bin/python ci/airflow-2.11.txt
	$(BIN)/uv pip install --quiet --python $(AF2_VENV)/bin/python --no-deps -e .
	$(AF2_VENV)/bin/python -m pytest -p no:cacheprovider -n $(PYTEST_WORKERS) $(AF2_TESTS) $(PYTEST_ARGS)

# The CeleryExecutor lane (ci/celery_lane.py): its own environment, pinned by ci/celery.txt.
CELERY_VENV ?= .venv-celery
CELERY_LANE_ARGS ?=

test-celery: venv
	@test -x $(CELERY_VENV)/bin/python || $(PYTHON) -m venv $(CELERY_VENV)
	$(BIN)/uv pip sync --quiet --python $(CELERY_VENV)/bin/python ci/celery.txt
	$(BIN)/uv pip install --quiet --python $(CELERY_VENV)/bin/python --no-deps -e .
	$(CELERY_VENV)/bin/python ci/celery_lane.py $(CELERY_LANE_ARGS)

# The release: built with the pinned tools of ci/dist.txt (no build isolation, so no unpinned
# backend), checked by twine and ci/check_dist.py; test-wheel installs the wheel, not the checkout,
# into a new virtualenv with the pins of uv.lock and runs the provider from there.
DIST_VENV ?= .venv-dist
WHEEL_VENV ?= .venv-wheel

dist: venv
	@test -x $(DIST_VENV)/bin/python || $(PYTHON) -m venv $(DIST_VENV)
	$(BIN)/uv pip sync --quiet --python $(DIST_VENV)/bin/python ci/dist.txt
	rm -rf dist
	$(DIST_VENV)/bin/python -m build --no-isolation --outdir dist .
	$(DIST_VENV)/bin/twine check --strict dist/*
	$(DIST_VENV)/bin/python ci/check_dist.py dist

test-wheel: dist
	rm -rf $(WHEEL_VENV)
	$(PYTHON) -m venv $(WHEEL_VENV)
	$(BIN)/uv export --quiet --frozen --no-hashes --no-dev --extra sandbox --no-emit-project \
		--format requirements-txt -o $(WHEEL_VENV)/uv-lock.txt
	$(BIN)/uv pip install --quiet --python $(WHEEL_VENV)/bin/python -r $(WHEEL_VENV)/uv-lock.txt \
		"$$(ls dist/*.whl)[sandbox]"
	cd $(WHEEL_VENV) && bin/python -I $(CURDIR)/ci/check_wheel.py

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

sandbox: venv
	$(BIN)/smartarena-sandbox --port 8765 --seed 1 --users 200 --courses 20 --activities 5000

# Benchmarks (docs/benchmarks.md): their own environment, the pins of uv.lock plus
# benchmarks/requirements.txt (dlt, matplotlib, the HTTP provider), never the provider's own.
BENCH_VENV ?= .venv-bench
BENCH_STAMP := $(BENCH_VENV)/.synced-$(shell cat uv.lock pyproject.toml benchmarks/requirements.txt | cksum | cut -d' ' -f1)
BENCH_ARGS ?=

bench-venv: $(BENCH_STAMP)

$(BENCH_STAMP): $(STAMP) benchmarks/requirements.txt
	@test -x $(BENCH_VENV)/bin/python || $(PYTHON) -m venv $(BENCH_VENV)
	$(BIN)/uv export --quiet --frozen --no-hashes --no-emit-project --format requirements-txt -o $(BENCH_VENV)/uv-lock.txt
	$(BIN)/uv pip install --quiet --python $(BENCH_VENV)/bin/python -r $(BENCH_VENV)/uv-lock.txt -r benchmarks/requirements.txt
	$(BIN)/uv pip install --quiet --python $(BENCH_VENV)/bin/python --no-deps -e .
	@rm -f $(BENCH_VENV)/.synced-*
	@touch $@

bench: bench-venv
	$(BENCH_VENV)/bin/python -m benchmarks --mode quick $(BENCH_ARGS)

bench-full: bench-venv
	$(BENCH_VENV)/bin/python -m benchmarks --mode full $(BENCH_ARGS)

clean:
	rm -rf $(VENV) $(AF2_VENV) $(BENCH_VENV) $(CELERY_VENV) $(DIST_VENV) $(WHEEL_VENV) dist .bench .pytest_cache .mypy_cache .ruff_cache .hypothesis
