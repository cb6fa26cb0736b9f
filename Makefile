# Two commands do all set-up on a fresh machine with Python 3.11:
#   make demo   - run the demo on the embedded local server
#   make test   - ruff, mypy (strict) and the whole pytest suite, offline (cassettes + loopback)
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-test
DEMO_STAMP := $(VENV)/.installed-all

PYTEST_OFFLINE := --record-mode=none --block-network --allowed-hosts=127.0.0.1,localhost,::1

.PHONY: demo test lint typecheck pytest record bench clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(STAMP) $(DEMO_STAMP)

$(DEMO_STAMP): pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install --quiet -e ".[all]"
	touch $(DEMO_STAMP)

demo: $(DEMO_STAMP)
	$(PY) -m ragflow_integrations.demo

lint: $(STAMP)
	$(PY) -m ruff check ragflow_integrations tests benchmarks
	$(PY) -m ruff format --check ragflow_integrations tests benchmarks

typecheck: $(STAMP)
	$(PY) -m mypy

pytest: $(STAMP)
	$(PY) -m pytest $(PYTEST_OFFLINE) tests
	$(PY) -m pytest --nbmake --nbmake-timeout=300 notebooks

test: lint typecheck pytest

# Re-record every cassette against the local server (or a live RAGFlow from RAGFLOW_BASE_URL).
record: $(STAMP)
	$(PY) -m pytest --record-mode=rewrite tests

bench: $(STAMP)
	$(PY) -m benchmarks

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
