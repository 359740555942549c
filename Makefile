# `make demo`, `make test` and `make docs` each create or refresh a local virtual
# environment (.venv) and install skbn into it, editable, with the extras they need.
# `make docs` runs every gallery example and treats warnings as errors.
# `make bench` times skbn against scikit-learn, in a few minutes; `make bench-smoke`
# runs the benchmark script's test (pytest -m bench), which `make test` leaves out.
# Every install takes .ci/constraints.txt, so that it installs what CI does.
# `make test-min` runs the tests in .venv-min against the oldest supported releases
# (their wheels need Python 3.10 or 3.11).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip
CONSTRAINTS := .ci/constraints.txt
MIN_VENV := .venv-min
MIN_PINS := "numpy==1.25.*" "scipy==1.11.*" "scikit-learn==1.6.*" "pandas==2.0.*" \
	"polars==1.0.*"

.PHONY: demo test test-min docs lint bench bench-smoke clean

demo: $(VENV)/.installed-demo
	$(BIN)/python -m skbn demo

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest

test-min: $(MIN_VENV)/.installed
	$(MIN_VENV)/bin/python -m pytest

docs: $(VENV)/.installed-docs
	$(BIN)/python -m sphinx -W --keep-going -b html docs docs/_build/html

lint: $(VENV)/.installed-lint
	$(BIN)/python -m ruff check skbn tests docs examples benchmarks
	$(BIN)/python -m ruff format --check skbn tests docs examples benchmarks

bench: $(VENV)/.installed-demo
	$(BIN)/python benchmarks/run.py

bench-smoke: $(VENV)/.installed-test
	$(BIN)/python -m pytest -m bench tests/test_benchmarks.py

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet -c $(CONSTRAINTS) --upgrade pip

$(VENV)/.installed-demo: pyproject.toml $(CONSTRAINTS) | $(BIN)/python
	$(PIP) install --quiet -c $(CONSTRAINTS) -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(CONSTRAINTS) | $(BIN)/python
	$(PIP) install --quiet -c $(CONSTRAINTS) -e ".[test]"
	touch $@

$(VENV)/.installed-docs: pyproject.toml $(CONSTRAINTS) | $(BIN)/python
	$(PIP) install --quiet -c $(CONSTRAINTS) -e ".[docs]"
	touch $@

$(VENV)/.installed-lint: pyproject.toml $(CONSTRAINTS) | $(BIN)/python
	$(PIP) install --quiet -c $(CONSTRAINTS) -e ".[lint]"
	touch $@

$(MIN_VENV)/.installed: pyproject.toml $(CONSTRAINTS)
	$(PYTHON) -m venv $(MIN_VENV)
	$(MIN_VENV)/bin/python -m pip install --quiet -c $(CONSTRAINTS) --upgrade pip
	$(MIN_VENV)/bin/python -m pip install --quiet -c $(CONSTRAINTS) $(MIN_PINS) -e ".[test]"
	touch $@

clean:
	rm -rf $(VENV) $(MIN_VENV) docs/_build docs/generated docs/auto_examples \
		docs/sg_execution_times.rst .pytest_cache .hypothesis benchmarks/results.json \
		benchmarks/dask_scale.json benchmarks/gpu.json
