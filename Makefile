# danvan — two commands: `make run` and `make test`. Both set up .venv when needed.
# Setup: a venv, uv (a fast installer from PyPI) and the pinned requirements.lock; the project itself
# is installed editable without dependencies. Regenerate the lock with `make lock` after editing pyproject.toml.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
UV_VERSION := 0.13.8
PYTEST := $(BIN)/python -m pytest -q -p no:cacheprovider

.PHONY: run test test-all test-postgres lint-imports bench lock clean system-deps

$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(BIN)/uv pip install --quiet --python $(BIN)/python -r requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	touch $(STAMP)

lock: $(STAMP)
	$(BIN)/uv pip compile --quiet pyproject.toml --extra dev --python-version 3.11 -o requirements.lock

run: $(STAMP)
	$(BIN)/danvan run

# The fast lane: everything except tests marked `slow` (stress, crash, soak, outage, simulation,
# browser and document rendering), plus the import contract.
test: $(STAMP) lint-imports
	$(PYTEST) -m "not slow"

# The full lane: every test. DANVAN_TEST_DATABASE_URL (optional) points it at a throwaway PostgreSQL database.
test-all: $(STAMP) lint-imports
	$(PYTEST)

# The same fast lane against PostgreSQL (DANVAN_TEST_DATABASE_URL must point at a throwaway database).
test-postgres: $(STAMP)
	DANVAN_TEST_DATABASE_URL=$${DANVAN_TEST_DATABASE_URL:?set it to a PostgreSQL URL} $(PYTEST) -m "not slow"

lint-imports: $(STAMP)
	$(BIN)/lint-imports --no-cache

bench: $(STAMP)
	$(BIN)/python -m bench.report --reset
	$(BIN)/python -m bench.intake_throughput
	$(BIN)/python -m bench.outbound
	$(BIN)/python -m bench.flood
	$(BIN)/python -m bench.zalo_webhook
	$(BIN)/python -m bench.scheduled_jobs
	$(BIN)/python -m bench.web_and_documents
	$(BIN)/python -m bench.idle_memory
	$(BIN)/python -m bench.report

# Debian packages for the headless-browser and LibreOffice tests (they skip, saying so, without them).
SYSTEM_PACKAGES := chromium chromium-driver libreoffice-writer-nogui libreoffice-calc-nogui fonts-liberation2 poppler-utils
system-deps:
	@if dpkg -s $(SYSTEM_PACKAGES) >/dev/null 2>&1; then echo "system packages present"; \
	else apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(SYSTEM_PACKAGES); fi

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
