# The two commands of the README: `make demo` and `make test`. Both set everything up first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STORAGE ?= .dtflw/storage

.PHONY: setup demo test test-databricks lint docs bench clean

# databricks-connect ships its own pyspark, so its suite runs in an environment of its own: databricks-connect
# 17.3 on Python 3.12 (pyenv's, or python3.12 on PATH); without a 3.12 (a clean Debian 12), 16.1 on $(PYTHON)
# if that is 3.10/3.11; with neither (e.g. only 3.13), `make test-databricks` says so and skips.
PYTHON312 ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.12*/bin/python) $(shell command -v python3.12 2>/dev/null))
PYTHON_VERSION := $(shell $(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)
DBC_VENV ?= .venv-databricks
ifneq ($(strip $(PYTHON312)),)
DBC_PYTHON := $(PYTHON312)
DBC_PINS := "databricks-connect==17.3.*"
else ifneq ($(filter 3.10 3.11,$(PYTHON_VERSION)),)
DBC_PYTHON := $(PYTHON)
DBC_PINS := "databricks-connect==16.1.7" "pyarrow<18" "pandas<3"
endif
DBC_READY := $(if $(DBC_PYTHON),$(DBC_VENV)/.installed)

setup: $(VENV)/.installed

$(VENV)/.installed: setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[test]"
	touch $@

$(DBC_VENV)/.installed: setup.py
	rm -rf $(DBC_VENV)
	$(DBC_PYTHON) -m venv $(DBC_VENV)
	$(DBC_VENV)/bin/python -m pip install -q --upgrade pip
	$(DBC_VENV)/bin/python -m pip install -q -e ".[test-databricks]" $(DBC_PINS)
	touch $@

# delta-spark apart from the main environment (beside it, every JVM test would need Maven for Delta's jars):
# the JVM suite puts it on the path of one process to test the engine's error where the jars cannot be resolved.
$(VENV)/delta-spark/.installed: setup.py
	$(BIN)/python -m pip install -q --target $(VENV)/delta-spark importlib_metadata
	$(BIN)/python -m pip install -q --no-deps --target $(VENV)/delta-spark "delta-spark==4.4.*"
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
	$(BIN)/mypy

# The documentation site (docs/, mkdocs.yml): strict, so a broken link or a docstring warning fails `make test`.
docs: setup
	$(BIN)/mkdocs build --strict --site-dir .dtflw/site

# The JVM engine suite runs in a process of its own: pyspark cannot mix classic and Connect sessions.
# `-p no:dtflw`: dtflw's own suites do not load its pytest plugin (pytester tests load it in inner sessions);
# loaded at startup, it imports dtflw before coverage starts. notebooks/tests uses it as users do.
test: setup node_modules/.installed lint docs $(DBC_READY) $(VENV)/delta-spark/.installed
	$(BIN)/python -m pytest -m "not jvm" -p no:dtflw --cov=dtflw --cov-report=
	$(BIN)/python -m pytest notebooks/tests --dtflw-engine sail --cov=dtflw --cov-append --cov-report=
	$(MAKE) test-databricks
	$(BIN)/python -m pytest -m jvm -p no:dtflw --cov=dtflw --cov-append --cov-report=term --cov-fail-under=90

# The databricks-connect suite: a real DatabricksSession against a Sail server of the main environment.
test-databricks: setup node_modules/.installed $(DBC_READY)
ifeq ($(DBC_READY),)
	@echo "SKIPPED tests/databricks: databricks-connect needs Python 3.12 (17.x) or 3.10/3.11 (16.1.x), and here" \
		"$(PYTHON) is $(PYTHON_VERSION) with no python3.12 on PATH or in pyenv; install one (PYTHON312=/path)."
else
	DTFLW_SAIL_PYTHON=$(CURDIR)/$(BIN)/python $(DBC_VENV)/bin/python -m pytest tests/databricks -p no:dtflw \
		--cov=dtflw --cov-append --cov-report=
endif

bench: setup node_modules/.installed $(DBC_READY)
	for b in bench/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf .dtflw .pytest_cache .coverage
