# Both targets bootstrap .venv from a fresh clone: only python3 >= 3.11, git and make are needed.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test fuzz lint bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "blocktime needs Python 3.11 or newer")'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[test]'
	@touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/blocktime demo

# the whole suite on each store engine in turn: SQLite, then a real PostgreSQL started by the fixtures
# (tests/stores.py); `make test STORES=sqlite` for one
STORES ?= sqlite postgresql
test: $(STAMP)
	@for store in $(STORES); do echo "== the suite on $$store"; \
	  BLOCKTIME_TEST_STORE=$$store $(PY) -m pytest -q || exit 1; done

# random exploration of the property tests (make test runs them with a fixed seed); FUZZ_MINUTES=10
fuzz: $(STAMP)
	$(PY) tests/run_fuzz.py

# ruff, mypy --strict, and the layers of the house as import-linter contracts ([tool.importlinter])
lint: $(STAMP)
	$(VENV)/bin/ruff check blocktime tests bench scripts
	$(VENV)/bin/mypy blocktime
	$(VENV)/bin/lint-imports

bench: $(STAMP)
	$(PY) bench/book50.py
	$(PY) bench/search.py
	$(PY) bench/daemon_pass.py
	$(PY) bench/coldstart.py
	$(PY) bench/inbox.py
	$(PY) bench/busy_corpus.py
	$(PY) bench/large.py

clean:
	rm -rf $(VENV) .demo .pytest_cache .mypy_cache .ruff_cache
