# Targets a newcomer can guess. Everything installs itself into project-local, git-ignored folders.
# `make help` lists them under the `##@` headings below, in file order, from each target's `##` comment.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STACK ?= devstack
ARGS ?=
# what `python -m devstack install` imports, and uv, installed first so the services build while uv installs the rest
BOOTSTRAP_PINS := $(shell grep -oE '"(requests|psutil|uv)==[^"]+"' pyproject.toml)
UV := $(VENV)/bin/uv pip install --quiet --python $(PY)
KERNEL_WHEEL := .out/setup/kernel-wheel

.DEFAULT_GOAL := help
.PHONY: help setup demo up status down reset plan preview refresh destroy outputs test test-setup unit lint bench faults clean

##@ Start here
help: ## list the targets, by what you want to do
	@awk 'BEGIN { FS = ":.*## " } /^##@ / { printf "\n%s\n", substr($$0, 5); next } \
		/^[a-z-]+:.*## / { printf "  make %-12s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)

setup: $(VENV)/.bootstrapped ## what `make demo` needs: .venv, devstack's services, the Pulumi CLI, side by side (idempotent; never sudo)
	MAKE="$(MAKE)" tools/setup.sh

demo: setup ## the main job: local platform, sample data, all sinks, both pipelines, reconciliation
	$(PY) -m demo $(ARGS)

##@ Run the platform (devstack's local processes)
up: setup ## STACK (default devstack) on the real Pulumi engine; for devstack its processes first
	@if [ "$(STACK)" = devstack ]; then $(PY) -m devstack up; fi
	$(PY) -m stacks up --stack $(STACK) $(ARGS)

status: ## one screen of the platform: services (pid, memory, disk), topics, sink lag, dead letters, connector, subjects, DAG runs (ARGS=--json)
	@$(PY) -m demo.status --stack $(STACK) $(ARGS)

down: ## stop devstack's processes (their data stays on disk: `make up` brings it back)
	$(PY) -m devstack down

reset: ## stop devstack and DELETE its data after asking (ARGS="moto kafka" for some services, ARGS=--yes to skip)
	$(PY) -m devstack reset $(ARGS)

##@ Operate a stack (STACK=devstack|dev|local|prod)
plan: $(VENV)/.installed ## readable plan of STACK (dev|local|prod) under the mock runtime; ACCEPT=1 updates the snapshot
	$(PY) -m stacks plan --stack $(STACK) $(if $(ACCEPT),--accept,)

preview: setup ## what `make up` would change in STACK, as a diff; devstack: live objects read first, so drift shows (cloud stacks: ARGS=--refresh)
	$(PY) -m stacks preview --diff --stack $(STACK) $(ARGS)

refresh: setup ## read STACK's live topics/subjects/connector/Airflow settings back into its state
	$(PY) -m stacks refresh --stack $(STACK) $(ARGS)

destroy: setup ## delete everything STACK created (devstack's processes keep running: `make down`)
	$(PY) -m stacks destroy --stack $(STACK) $(ARGS)

outputs: ## STACK's outputs as JSON (they hold secrets: print, don't paste)
	@$(PY) -m stacks outputs --stack $(STACK)

##@ Develop
test: test-setup ## the whole test suite: unit tests, then data-path tests against real local services
	@# pytest exits 5 when it collected nothing: fine for a filtered run (ARGS), a failure for the full suite
	$(PY) -m pytest $(ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests"; [ -n "$(ARGS)" ] && exit 0 || exit 1; fi; exit $$rc

test-setup: setup ## setup, plus Debian's chromium for the browser test: only where CI=true or KDE_INSTALL_CHROMIUM=1 (sudo apt-get)
	tools/install_chromium.sh

unit: $(VENV)/.installed ## only the fast tests that need no local service
	$(PY) -m pytest tests/unit $(ARGS)

lint: $(VENV)/.installed ## ruff, mypy and the import-linter layering contracts (pyproject.toml)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy .
	$(VENV)/bin/lint-imports

bench: setup ## benchmarks, printed as ratios against baselines measured in the same run
	$(PY) -m benchmarks $(ARGS)

faults: setup ## crash loads, the broker, Connect and the registry at random moments; count duplicates and lost (ARGS="--trials 16")
	$(PY) -m faults $(ARGS)

clean: down ## remove the venv, devstack's caches and the built Pulumi CLI
	rm -rf $(VENV) .devstack tools/bin

# the venv, what devstack's installer imports, and uv: the first seconds of `make setup` (again when pyproject.toml
# changes, so a venv made before a pin, uv's included, gets it)
$(VENV)/.bootstrapped: pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found: install Python 3.11"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet $(BOOTSTRAP_PINS)
	touch $@

# the project with every extra and the converter's Rust kernel, whose wheel compiles while uv installs the rest
# (tools/setup.sh runs all of it beside devstack's services and the Pulumi CLI)
$(VENV)/.installed: pyproject.toml loaders/kernel/Cargo.toml loaders/kernel/pyproject.toml $(wildcard loaders/kernel/src/*.rs) | $(VENV)/.bootstrapped
	@command -v cargo >/dev/null || { echo "cargo not found: the converter's kernel (loaders/kernel) is Rust; install it with rustup"; exit 1; }
	rm -rf $(KERNEL_WHEEL); $(VENV)/bin/uv build --quiet --python $(PY) --wheel --out-dir $(KERNEL_WHEEL) ./loaders/kernel & kernel=$$!; \
	$(UV) -e '.[dev]'; rc=$$?; wait $$kernel || exit 1; exit $$rc
	$(UV) --reinstall --no-deps $(KERNEL_WHEEL)/*.whl
	# dbt (the `transform` extra) cannot resolve beside mypy's pathspec: installed after, then mypy's put back
	$(UV) -e '.[transform]' && $(UV) 'pathspec==1.1.1'
	touch $@
