# `make demo`, `make test` and `make docs` each create or refresh a local virtual
# environment (.venv) and install skbn into it, editable, with the extras they need.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip

.PHONY: demo test docs lint clean

demo: $(VENV)/.installed-demo
	$(BIN)/python -m skbn demo

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest

docs: $(VENV)/.installed-docs
	$(BIN)/python -m sphinx -W --keep-going -b html docs docs/_build/html

lint: $(VENV)/.installed-lint
	$(BIN)/python -m ruff check skbn tests docs
	$(BIN)/python -m ruff format --check skbn tests docs

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(VENV)/.installed-demo: pyproject.toml | $(BIN)/python
	$(PIP) install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(PIP) install --quiet -e ".[test]"
	touch $@

$(VENV)/.installed-docs: pyproject.toml | $(BIN)/python
	$(PIP) install --quiet -e ".[docs]"
	touch $@

$(VENV)/.installed-lint: pyproject.toml | $(BIN)/python
	$(PIP) install --quiet -e ".[lint]"
	touch $@

clean:
	rm -rf $(VENV) docs/_build docs/generated .pytest_cache .hypothesis
