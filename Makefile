# FieldVault: `make run` (embedded stack + demo) and `make test` (the whole suite).
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
NPM_DIRS := tests/sync/tus_client tests/e2e/axe
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml $(addsuffix /package-lock.json,$(NPM_DIRS)) 2>/dev/null | cksum | cut -d' ' -f1)

.PHONY: install system-deps run test lint typecheck unit bench clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is required ($(PYTHON) not found)"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@for dir in $(NPM_DIRS); do \
		command -v npm >/dev/null || { echo "npm (Node 20) is required for tus-js-client and axe-core (tests): apt-get install -y nodejs npm"; exit 1; }; \
		npm ci --silent --prefix $$dir || exit 1; done
	@$(PY) -c "from media.tools import describe; print(describe())"
	@rm -f $(VENV)/.installed-*; touch $@

install: $(STAMP)

run: install
	$(PY) -m ops.embedded

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache

typecheck: install
	$(VENV)/bin/mypy backend sync media coverage_core mobile_contract ops provenance

# Node/npm, Chromium and a CJK font: installed when missing (root on Debian), otherwise the
# command stops at once with the one install line to run.
system-deps:
	@bash ops/system_deps.sh test

test: system-deps install lint typecheck
	$(VENV)/bin/pytest

bench: install
	@for script in tests/bench/bench_*.py; do echo "== $$script"; $(PY) $$script || exit 1; done

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
