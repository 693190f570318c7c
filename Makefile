# The README's two commands: `make demo` and `make test`. Both install everything first
# (scripts/setup.sh is idempotent and quick when nothing changed).
.PHONY: setup demo test test-python test-r check vignette bench docs

PY := .venv/bin/python
export RETICULATE_PYTHON := $(CURDIR)/.venv/bin/python

setup:
	bash scripts/setup.sh

demo: setup
	.venv/bin/twinpurify demo --out twinpurify-demo

test: setup
	bash scripts/test.sh

docs: setup  ## the API reference (offline, warnings are errors) -> docs/_build/html
	$(PY) -m sphinx -W --keep-going -b html docs docs/_build/html

test-python: setup
	$(PY) -m pytest tests/python -q

test-r: setup
	Rscript -e 'testthat::test_local(".", reporter = "summary", stop_on_failure = TRUE)'

DATA_DIR ?= ../shared/data

bench: setup
	$(PY) benchmarks/run_cohorts.py --data-dir $(DATA_DIR) --cohorts tuning
	$(PY) benchmarks/run_cohorts.py --data-dir $(DATA_DIR) --cohorts heldout
	$(PY) benchmarks/transfer.py --data-dir $(DATA_DIR)
	$(PY) benchmarks/speed.py
	$(PY) benchmarks/make_results.py
