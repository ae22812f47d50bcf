# The two commands of the README: `make quickstart` and `make test`.
# Each creates (or reuses) .venv and installs avaloc into it with the pinned constraints.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.avaloc-installed
SHARED ?= ../shared
QUICKSTART_OUT ?= quickstart_out

.PHONY: install test test-fast lint format quickstart clean

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev,onnx]'
	@touch $(STAMP)

install: $(STAMP)

lint: install
	$(BIN)/ruff check src tests benchmarks

format: install
	$(BIN)/ruff format src tests benchmarks
	$(BIN)/ruff check --fix src tests benchmarks

# Tests + lint. pytest's exit 5 (no test collected) is a failure here, not a pass.
test: install lint
	@set +e; $(BIN)/python -m pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests" >&2; exit 1; fi; \
	exit $$rc

test-fast: install
	$(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS)

# The whole pipeline on the synthetic benchmark (about 12 minutes on a 2-core CPU, after the install).
quickstart: install
	$(BIN)/avaloc quickstart --out $(QUICKSTART_OUT)

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
