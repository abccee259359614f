# Targets a newcomer can guess. Everything installs itself into project-local, git-ignored folders.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STACK ?= dev
ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help setup test unit lint plan demo bench up down status outputs platform-up platform-preview platform-refresh platform-destroy clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

$(VENV)/.installed: pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found: install Python 3.11"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

setup: $(VENV)/.installed ## create .venv, install the project with every extra, devstack's services and the Pulumi CLI (idempotent)
	$(PY) -m devstack install
	tools/pulumi/build.sh

test: setup ## the whole test suite: unit tests, then data-path tests against real local services
	@# pytest exits 5 when it collected nothing: fine for a filtered run (ARGS), a failure for the full suite
	$(PY) -m pytest $(ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests"; [ -n "$(ARGS)" ] && exit 0 || exit 1; fi; exit $$rc

unit: $(VENV)/.installed ## only the fast tests that need no local service
	$(PY) -m pytest tests/unit $(ARGS)

lint: $(VENV)/.installed ## ruff and mypy
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy .

plan: $(VENV)/.installed ## readable plan of STACK (dev|local) under the mock runtime; ACCEPT=1 updates the snapshot
	$(PY) -m stacks.plan --stack $(STACK) $(if $(ACCEPT),--accept,)

demo: setup ## the main job: local platform, sample data, all sinks, both pipelines, reconciliation
	$(PY) -m pipelines demo $(ARGS)

bench: setup ## benchmarks, printed as ratios against baselines measured in the same run
	$(PY) -m benchmarks $(ARGS)

up: setup ## start the local platform (devstack)
	$(PY) -m devstack up

down: ## stop what devstack started
	$(PY) -m devstack down

status: ## what devstack runs
	$(PY) -m devstack status

outputs: ## the local platform's stack outputs as JSON
	@$(PY) -m devstack outputs

platform-up: setup ## topics, subjects and the S3 sink connector on the real Pulumi engine (default: against devstack; OUTPUTS=file)
	$(PY) -m stacks.platform up $(if $(OUTPUTS),--outputs $(OUTPUTS),)

platform-preview: setup ## what platform-up would change, as a diff
	$(PY) -m stacks.platform preview --diff $(if $(OUTPUTS),--outputs $(OUTPUTS),)

platform-refresh: setup ## read the live topics/subjects/connector back into the platform stack's state
	$(PY) -m stacks.platform refresh $(if $(OUTPUTS),--outputs $(OUTPUTS),)

platform-destroy: setup ## delete what platform-up created
	$(PY) -m stacks.platform destroy $(if $(OUTPUTS),--outputs $(OUTPUTS),)

clean: down ## remove the venv, devstack's caches and the built Pulumi CLI
	rm -rf $(VENV) .devstack tools/bin
