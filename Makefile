# The README's commands. `make demo` and `make test` create .venv and install what they need.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-dev

.PHONY: setup test lint demo bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch==2.13.0 (pinned in the extras) is the CPU wheel; never an unpinned torch.
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

setup: $(STAMP)

lint: setup
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks

test: lint
	$(PY) -m pytest --cov --cov-report=term:skip-covered

demo: setup
	$(VENV)/bin/leaky plot --out figures/leaky_relu.png
	$(VENV)/bin/leaky plot --out figures/leaky_relu.svg

bench: setup
	$(PY) benchmarks/bench_functional.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis .coverage figures
