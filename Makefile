# The two commands of the README: `make demo` and `make test`. Both set everything up first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STORAGE ?= .dtflw/storage

.PHONY: setup demo test lint bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[test]"
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

demo: setup
	$(BIN)/python notebooks/data/generate.py --out $(STORAGE)/raw
	$(BIN)/dtflw run notebooks/main.py --storage $(STORAGE)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The JVM engine suite runs in a process of its own: pyspark cannot mix classic and Connect sessions.
test: setup node_modules/.installed lint
	$(BIN)/python -m pytest -m "not jvm" --cov=dtflw --cov-report=
	$(BIN)/python -m pytest -m jvm --cov=dtflw --cov-append --cov-report=term --cov-fail-under=90

bench: setup node_modules/.installed
	for b in bench/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf .dtflw .pytest_cache .coverage
