# Every target creates .venv (and installs this project into it) when it is missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NBVAL := --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg

.PHONY: run test lab refresh bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## make run: execute every notebook into build/ (executed .ipynb, .html, index.html)
run: $(STAMP)
	$(BIN)/python scripts/run_notebooks.py --out build

## make test: lint, unit and property tests, doctests, and nbval (strict) over the notebooks
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python scripts/run_notebooks.py --fetch-only
	$(BIN)/python -m pytest $(NBVAL) tests helpers notebooks

## make lab: JupyterLab on notebooks/
lab: $(STAMP)
	$(BIN)/python scripts/run_notebooks.py --fetch-only
	$(BIN)/jupyter lab notebooks

## make refresh: re-execute the notebooks in place (updates nbval's reference outputs; review the diff)
refresh: $(STAMP)
	$(BIN)/python scripts/run_notebooks.py --in-place

## make bench: speed of helpers' metrics vs scikit-learn and torchmetrics
bench: $(STAMP)
	$(BIN)/python tests/benchmarks/bench_metrics.py

clean:
	rm -rf build runs
