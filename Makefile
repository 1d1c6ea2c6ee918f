# Set-up is part of every target: `make run` and `make test` work on a fresh machine.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run test bench clean

$(INSTALLED): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check 'pip<26.3'
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

install: $(INSTALLED)

run: install  ## serve the API on the embedded default (SQLite at .ats/ats.db)
	$(VENV)/bin/chalice local --host $(HOST) --port $(PORT) --stage dev

test: install  ## the whole suite
	$(PY) -m pytest $(PYTEST_ARGS)

bench: install  ## in-process latency per endpoint (median, p99)
	$(PY) -m bench.api

clean:
	rm -rf $(VENV) .ats .pytest_cache
