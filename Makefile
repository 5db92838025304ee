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

# the whole suite in one pytest session spread over WORKERS processes (pytest-xdist; each has its own
# servers on free loopback ports): every test on SQLite, and every test that reaches the store on a real
# PostgreSQL too (tests/stores.py); `make test STORES=sqlite` for one engine, WORKERS=0 for no workers
STORES ?= sqlite postgresql
WORKERS ?= 3
test: $(STAMP)
	BLOCKTIME_TEST_STORES="$(STORES)" $(PY) -m pytest -q -n $(WORKERS) --dist worksteal

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
