# The README's commands. `make demo` and `make test` create .venv and install what they need:
# `make demo` only the lab extra (what the report needs), `make test` the dev extra.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
LAB := $(VENV)/.installed-lab
DEV := $(VENV)/.installed-dev

.PHONY: setup test lint demo bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# torch==2.13.0 (pinned in the extras) is the CPU wheel; never an unpinned torch.
$(LAB): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e ".[lab]"
	touch $(LAB)

$(DEV): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(DEV)

setup: $(DEV)

lint: setup
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks

test: lint
	$(PY) -m pytest --cov --cov-report=term:skip-covered

# The main job: every experiment, every claim judged, one report in leaky-report/.
demo: $(LAB)
	$(VENV)/bin/leaky report --out leaky-report --jobs 2

bench: setup
	$(PY) benchmarks/bench_functional.py
	$(PY) benchmarks/bench_functional.py --nn

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis .coverage leaky-report
