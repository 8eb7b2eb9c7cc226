# danvan — two commands: `make run` and `make test`. Both set up .venv when needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-postgres bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/danvan run

test: $(STAMP)
	$(BIN)/python -m pytest -q

# The same suite against PostgreSQL (DATABASE_URL must point at a throwaway database).
test-postgres: $(STAMP)
	DANVAN_TEST_DATABASE_URL=$${DANVAN_TEST_DATABASE_URL:?set it to a PostgreSQL URL} $(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
