# 社区民生服务助手 — `make run` brings up everything; `make test` tests everything. `make help` lists all.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
ROOT := $(abspath .)

# Rasa 3.6 installs only on Python 3.10; the router runs on 3.11+.
PY310 ?= $(shell for p in python3.10 $$HOME/.pyenv/versions/3.10.*/bin/python3.10; do if $$p -c '' 2>/dev/null; then command -v $$p; break; fi; done)
PY311 ?= $(shell for p in python3.11 python3.12 $$HOME/.pyenv/versions/3.11.*/bin/python3.11; do if $$p -c '' 2>/dev/null; then command -v $$p; break; fi; done)
PIP_FLAGS := --disable-pip-version-check --no-input --progress-bar off
ENV := source scripts/env.sh &&
# `make setup` is 4 steps, each told in a line "==> [n/4] ..."; `make run` passes STEPS=5 (its fifth starts
# the stack). Long steps write their whole output to var/log/setup/ and show progress (scripts/step.sh).
STEPS ?= 4
SETUP_LOG = $(or $(VAR_DIR),$(ROOT)/var)/log/setup
STEP := scripts/step.sh
requirements = $(shell grep -cE '^[A-Za-z0-9]' $(1))

.PHONY: help run setup venvs model classifier test test-unit test-bot test-e2e bench lint lock clean

help: ## this list
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

run: ## set up everything (environments, model, Redis) and start the whole stack; prints the URLs
	@scripts/run.sh

setup: venvs model classifier ## environments + trained model + classifier artefact (each only when stale)

# Each environment says "up to date" or builds itself (its stamp's recipe), in this order.
venvs: ## the two locked Python environments
	@$(MAKE) --no-print-directory -q .venv/.stamp && echo "==> [1/$(STEPS)] router environment (.venv): up to date" \
	  || $(MAKE) --no-print-directory .venv/.stamp
	@$(MAKE) --no-print-directory -q .venv-bot/.stamp && echo "==> [2/$(STEPS)] bot environment (.venv-bot): up to date" \
	  || $(MAKE) --no-print-directory .venv-bot/.stamp

.venv/.stamp: requirements/router.lock
	@echo "==> [1/$(STEPS)] router environment (.venv, Python 3.11) from requirements/router.lock — about 1 min on a fresh machine"
	@test -n "$(PY311)" || { echo "python3.11 not found"; exit 1; }
	@test -x .venv/bin/python || $(PY311) -m venv .venv
	@$(STEP) $(SETUP_LOG)/pip-router.log pip:$(call requirements,requirements/router.lock) -- \
	  .venv/bin/pip install $(PIP_FLAGS) -r requirements/router.lock
	@touch $@

.venv-bot/.stamp: requirements/bot.lock
	@echo "==> [2/$(STEPS)] bot environment (.venv-bot, Python 3.10: rasa 3.6, spaCy, jieba) from requirements/bot.lock — a few minutes on a fresh machine (2.8 GB, mostly TensorFlow)"
	@test -n "$(PY310)" || { echo "python3.10 not found (Rasa 3.6 needs it; e.g. pyenv install 3.10.13)"; exit 1; }
	@test -x .venv-bot/bin/python || $(PY310) -m venv .venv-bot
	@$(STEP) $(SETUP_LOG)/pip-bot.log pip:$(call requirements,requirements/bot.lock) -- \
	  .venv-bot/bin/pip install $(PIP_FLAGS) -r requirements/bot.lock
	@touch $@

model: .venv-bot/.stamp ## train the Rasa model if its data or config changed (content-hash cache)
	@STEP="[3/$(STEPS)]" scripts/train.sh

classifier: .venv/.stamp ## train the topic classifier and the intake (city/danger) model if their data changed
	@echo "==> [4/$(STEPS)] topic classifier and intake model (trained only when their data changed: about 1 min)"
	@$(ENV) $(STEP) $(SETUP_LOG)/classifier.log results -- .venv/bin/python scripts/train_classifier.py
	@$(ENV) $(STEP) $(SETUP_LOG)/intake.log results -- .venv/bin/python scripts/train_intake.py

test: setup ## everything: unit, integration, Rasa data/stories, end-to-end and browser tests
	@$(MAKE) --no-print-directory test-unit test-bot test-e2e

test-unit: .venv/.stamp ## router unit + integration tests (real redis-server on a free port)
	@$(ENV) .venv/bin/python -m pytest tests/unit tests/integration tests/nlu -q

test-bot: .venv-bot/.stamp model ## rasa data validate, action tests, rasa test on test stories
	@$(ENV) .venv-bot/bin/rasa data validate --domain bot/domain --data nlu_data bot/data --fail-on-warnings
	@$(ENV) .venv-bot/bin/python -m pytest -c tests/actions/pytest.ini tests/actions -q -p no:cacheprovider
	@$(ENV) .venv-bot/bin/rasa test core --model models/current.tar.gz --stories tests/stories \
	  --endpoints endpoints.yml --fail-on-prediction-errors --out var/rasa-test-results

test-e2e: setup ## start the stack on free ports and drive it over HTTP and in chromium
	@$(ENV) .venv/bin/python -m pytest tests/e2e tests/browser -q

bench: setup ## benchmarks; results in bench/results/
	@$(ENV) .venv/bin/python bench/run_all.py

lint: .venv/.stamp ## ruff (style, imports; no I/O imports in router/domain) and mypy (types of router/)
	@.venv/bin/ruff check router tests scripts bench actions bot
	@.venv/bin/mypy

lock: ## re-resolve requirements/*.in into requirements/*.lock (needs the registries)
	@scripts/lock.sh

clean: ## remove environments, models and runtime data (keeps nothing under var/)
	rm -rf .venv .venv-bot models build var
