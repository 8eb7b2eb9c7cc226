# danvan — two commands: `make run` and `make test`. Both set up .venv when needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-postgres bench clean system-deps
SYSTEM_PACKAGES := chromium chromium-driver libreoffice-writer-nogui libreoffice-calc-nogui fonts-liberation2 poppler-utils

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
	$(BIN)/python -m bench.intake_throughput
	$(BIN)/python -m bench.outbound
	$(BIN)/python -m bench.flood
	$(BIN)/python -m bench.zalo_webhook
	$(BIN)/python -m bench.scheduled_jobs
	$(BIN)/python -m bench.web_and_documents
	$(BIN)/python -m bench.idle_memory

# Debian packages for the headless-browser and LibreOffice tests (they skip, saying so, without them).
system-deps:
	@if dpkg -s $(SYSTEM_PACKAGES) >/dev/null 2>&1; then echo "system packages present"; \
	else apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(SYSTEM_PACKAGES); fi

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
