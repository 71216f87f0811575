# `make test` is the one command: it builds .venv (and .venv-checkov, kept apart because
# checkov pins many libraries), installs PostgreSQL from Debian when it is missing, and runs the
# whole suite: unit tests, renders validated by kubernetes-validate and checkov, contract tests.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CHECKOV_VENV := .venv-checkov
CHECKOV := $(CHECKOV_VENV)/bin/checkov
# What `pulumi up` installs into a project's venv: requirements.txt alone, no dev dependencies.
RUNTIME_VENV := .venv-runtime
RUNTIME_STAMP := $(RUNTIME_VENV)/.installed
STACK ?= dev
STACKS := dev staging prod local
K8S_VERSIONS := 1.32.0 1.34.0 1.37.0
# Two workers: the machines have two cores.
PYTEST_ARGS ?= -n 2

# What ruff checks and formats: the package, its tests, the scripts and every program.
LINTED := components tests scripts stacks examples policy provider e2e

.PHONY: test unit lint upgrade contract install postgres redis graphviz tools mutation pictures render validate bench clean e2e-tools e2e

test: lint $(STAMP) $(CHECKOV) $(RUNTIME_STAMP) postgres redis graphviz tools
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# What an `up` from each recorded release (releases.yaml) does: every stack, the consumer and the
# API programs run with the release's code in its own venv and with today's (CHANGELOG.md).
upgrade: $(STAMP) $(RUNTIME_STAMP)
	$(BIN)/python scripts/upgrade_check.py

# Rules and line length in pyproject.toml; `ruff format $(LINTED)` fixes what --check reports.
lint: $(STAMP)
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)

unit: $(STAMP) $(CHECKOV) $(RUNTIME_STAMP) graphviz
	$(BIN)/python -m pytest $(PYTEST_ARGS) --ignore=tests/contract

contract: $(STAMP) postgres redis tools
	$(BIN)/python -m pytest $(PYTEST_ARGS) tests/contract

install: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml examples/django_app/requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

$(RUNTIME_STAMP): requirements.txt pyproject.toml
	test -x $(RUNTIME_VENV)/bin/python || $(PYTHON) -m venv $(RUNTIME_VENV)
	$(RUNTIME_VENV)/bin/python -m pip install --quiet -r requirements.txt
	touch $(RUNTIME_STAMP)

$(CHECKOV):
	test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/python -m pip install --quiet "checkov>=3.2,<4"

# Debian packages a missing tool comes from: root installs them itself, anyone else through sudo.
ID_U ?= $(shell id -u)
APT := $(if $(filter 0,$(ID_U)),,sudo )env DEBIAN_FRONTEND=noninteractive apt-get
APT_INSTALL = $(APT) update -qq && $(APT) install -y -qq --no-install-recommends

# The contract tests run the broker's rendered flags with Debian's redis-server 7.0 (Valkey is
# not packaged for bookworm; both speak the same protocol and take the same flags).
redis:
	@if command -v redis-server >/dev/null 2>&1; then \
		echo "redis-server: $$(redis-server --version | cut -d' ' -f3)"; \
	else \
		echo "redis-server missing: installing Debian's redis-server"; \
		$(APT_INSTALL) redis-server >/dev/null; \
	fi

# The render draws its pictures with Graphviz's `dot`; the .dot files are written without it, so
# a render goes on (with a warning) where dot can be installed by no one.
graphviz:
	@if command -v dot >/dev/null 2>&1; then \
		echo "graphviz: $$(dot -V 2>&1)"; \
	else \
		echo "dot missing: installing Debian's graphviz"; \
		$(APT_INSTALL) graphviz >/dev/null || echo "warning: graphviz could not be installed: the pictures stay .dot files"; \
	fi

# The RDS role Job's fetch step reads the master secret with jq and the CA bundle with curl,
# as the aws-cli image (2.27.57+, Amazon Linux 2023) does. The backup contract tests run
# Debian's awscli package: aws-cli v2, the major version of the image (PyPI's awscli is v1).
# The alerts are tested by Prometheus' own promtool (Debian's prometheus package ships it); the
# KEDA and Prometheus Operator CRD schemas come from their Go modules (tests/upstream.py).
tools:
	@missing=""; for tool in jq curl; do command -v $$tool >/dev/null 2>&1 || missing="$$missing $$tool"; done; \
	test -x /usr/bin/aws || missing="$$missing awscli"; \
	command -v promtool >/dev/null 2>&1 || missing="$$missing prometheus"; \
	if [ -n "$$missing" ]; then \
		echo "missing:$$missing: installing them from Debian"; \
		$(APT_INSTALL) $$missing >/dev/null; \
	fi; \
	echo "jq: $$(jq --version), curl: $$(curl --version | head -n 1 | cut -d' ' -f2), $$(/usr/bin/aws --version), $$(promtool --version 2>&1 | head -n 1)"

# The contract tests start a real server; Debian's package brings initdb, pg_ctl and pg_isready.
postgres:
	@if command -v pg_ctl >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then \
		echo "PostgreSQL: $$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | tail -n 1)"; \
	else \
		echo "PostgreSQL missing: installing Debian's postgresql"; \
		$(APT_INSTALL) postgresql >/dev/null; \
	fi

# Would the tests notice? mutmut 3 on the security- and correctness-carrying modules plus a pass
# over their module-level constants; per-module report in build/mutation/report.json. Not part
# of `make test` (CONTRIBUTING "Mutation testing").
mutation: $(STAMP)
	$(BIN)/python -m pip install --quiet -r requirements-mutation.txt
	$(BIN)/python scripts/mutation.py

# What `pulumi up -s $(STACK)` would create, without a cluster, an AWS account or the CLI.
# DIFF=<an earlier render folder>: also print what changed and write out/$(STACK)/diff.md.
render: $(STAMP) graphviz
	$(BIN)/python -m pulumi_djangoapp.render --stack $(STACK) --out out/$(STACK) $(if $(DIFF),--diff $(DIFF) --markdown out/$(STACK)/diff.md)

# The README's pictures: prod's resource graph and pod start order.
pictures: $(STAMP) graphviz
	$(BIN)/python -m pulumi_djangoapp.render --stack prod --out out/prod > /dev/null
	mkdir -p docs
	cp out/prod/graph.dot docs/prod-graph.dot; cp out/prod/pods.dot docs/prod-pods.dot
	cp out/prod/graph.svg docs/prod-graph.svg; cp out/prod/pods.svg docs/prod-pods.svg

# Every stack rendered, then checked by the real schemas and scanned: what the PR pipeline runs.
validate: $(STAMP) $(CHECKOV)
	@set -e; for stack in $(STACKS); do \
		$(BIN)/python -m pulumi_djangoapp.render --stack $$stack --out out/$$stack > /dev/null; \
		$(BIN)/python scripts/validate_render.py out/$$stack/kubernetes.yaml $(K8S_VERSIONS); \
		$(CHECKOV) --framework kubernetes --skip-download --quiet --compact -f out/$$stack/kubernetes.yaml; \
		echo "$$stack: valid for $(K8S_VERSIONS); checkov clean"; \
	done

# Evaluation speed and memory (prints a table; targets are in the README, not asserted).
bench: $(STAMP)
	$(BIN)/python scripts/bench.py

# The real engine, kubernetes provider and control plane, built from their Go modules into
# ~/.cache/djangoapp-e2e (CONTRIBUTING "The real tools"). Not part of `make test`.
e2e-tools:
	bash e2e/build-tools.sh

# The built tools together: a control plane with kwok, `pulumi up`/preview/destroy of a YAML
# program through the real engine and kubernetes provider; then the component's own objects and
# options the same way (e2e/lifecycle.py; CONTRIBUTING "The real tools").
e2e: $(STAMP) e2e-tools
	$(BIN)/python e2e/smoke.py
	$(BIN)/python e2e/lifecycle.py

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) $(RUNTIME_VENV) .pytest_cache build out
