# `make test` is the one command: it builds .venv, installs everything (PostgreSQL from Debian
# when it is missing) and runs the whole suite, contract tests included.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: test unit contract install postgres clean

test: $(STAMP) postgres
	$(BIN)/python -m pytest

unit: $(STAMP)
	$(BIN)/python -m pytest --ignore=tests/contract

contract: $(STAMP) postgres
	$(BIN)/python -m pytest tests/contract

install: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml examples/django_app/requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

# The contract tests start a real server; Debian's package brings initdb, pg_ctl and pg_isready.
postgres:
	@if command -v pg_ctl >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then \
		echo "PostgreSQL: $$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | tail -n 1)"; \
	else \
		echo "PostgreSQL missing: installing Debian's postgresql"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; \
	fi

clean:
	rm -rf $(VENV) .pytest_cache build
