# The README's commands. `make demo` and `make test` create .venv and install what they need
# from the committed lock (requirements/lock-pyXY.txt, a pip constraints file): `make demo`
# only the lab extra (what the report needs), `make test` the dev extra. `make lock` refreshes
# the lock after a change to pyproject.toml's dependencies; the test suite fails until then.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PYVER := $(shell $(PYTHON) -c 'import sys; print("%d%d" % sys.version_info[:2])')
LOCK := requirements/lock-py$(PYVER).txt
LAB := $(VENV)/.installed-lab
DEV := $(VENV)/.installed-dev
# pip's configuration on these machines finds torch==2.13.0, the CPU wheel, on disk; the lock
# pins it without its local label (+cpu), so pip keeps taking that wheel. The project is built
# without build isolation, with the locked setuptools: nothing unlocked enters the install.
PIP := $(PY) -m pip install --quiet --constraint $(LOCK)

.PHONY: setup test lint typecheck demo bench lock relock docs dist clean

$(LOCK):
	@echo "error: no install lock for Python $(PYVER) ($(LOCK)); run 'make lock' with it." >&2
	@exit 1

$(PY): | $(LOCK)
	$(PYTHON) -m venv $(VENV)
	$(PIP) pip setuptools

$(LAB): pyproject.toml $(LOCK) | $(PY)
	$(PIP) --no-build-isolation -e ".[lab]"
	touch $(LAB)

$(DEV): pyproject.toml $(LOCK) | $(PY)
	$(PIP) --no-build-isolation -e ".[dev]"
	touch $(DEV)

setup: $(DEV)

lint: setup
	$(VENV)/bin/ruff check src tests benchmarks tools
	$(VENV)/bin/ruff format --check src tests benchmarks tools

typecheck: setup
	$(VENV)/bin/mypy

test: lint typecheck
	$(PY) -m pytest --cov --cov-report=term:skip-covered

# The main job: every experiment, every claim judged, one report in leaky-report/.
demo: $(LAB)
	$(VENV)/bin/leaky report --out leaky-report --jobs 2

bench: setup
	$(PY) benchmarks/bench_functional.py
	$(PY) benchmarks/bench_functional.py --nn

# `make lock`: resolve the dev extra (a superset of every extra) with pip as configured here,
# keeping every version the lock already pins (it is passed as constraints): only what is new
# in pyproject.toml is resolved, so adding a dependency moves nothing else. `make relock`
# resolves everything afresh, to the newest versions the index has.
LOCK_PIN := $(if $(wildcard $(LOCK)),--constraint $(LOCK),)
lock:
	rm -rf .lock-venv
	$(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet $(LOCK_PIN) pip setuptools
	.lock-venv/bin/python -m pip install --quiet $(LOCK_PIN) -e ".[dev]"
	$(PYTHON) tools/lock.py write .lock-venv/bin/python
	rm -rf .lock-venv

relock:
	rm -f $(LOCK)
	$(MAKE) lock

# The documentation site (mkdocs-material; the API reference by mkdocstrings) in site/, with
# warnings as errors; it installs only the docs extra. `make test` builds it too
# (tests/test_docs_site.py).
DOCS := $(VENV)/.installed-docs
$(DOCS): pyproject.toml $(LOCK) | $(PY)
	$(PIP) --no-build-isolation -e ".[docs]"
	touch $(DOCS)

docs: $(DOCS)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict

# The wheel and the sdist a user installs, checked by twine.
dist: setup
	rm -rf dist
	$(PY) -m build --no-isolation --outdir dist .
	$(VENV)/bin/twine check --strict dist/*

clean:
	rm -rf $(VENV) .lock-venv dist site .pytest_cache .ruff_cache .mypy_cache .hypothesis .coverage leaky-report
