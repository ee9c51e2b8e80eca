# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

# The production-like pass of the test suite uses the machine's PostgreSQL and Redis.
SERVICES_ENV := DATABASE_URL=$${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/conflux} \
	BROKER_URL=$${TEST_BROKER_URL:-redis://127.0.0.1:6379/0} \
	CHANNEL_LAYER_URL=$${TEST_CHANNEL_LAYER_URL:-redis://127.0.0.1:6379/1}
PYTEST_ARGS ?=

.PHONY: run test test-embedded test-services lint bench admin clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

run: $(VENV)/.installed  ## Set up and start the platform on the embedded default.
	$(PY) manage.py migrate --noinput
	@echo ""
	@echo "  Conflux is starting on http://$(HOST):$(PORT)"
	@echo "    API            http://$(HOST):$(PORT)/api/v1/"
	@echo "    Swagger UI     http://$(HOST):$(PORT)/docs"
	@echo "    ReDoc          http://$(HOST):$(PORT)/redoc"
	@echo "    Health         http://$(HOST):$(PORT)/health"
	@echo "    Admin          http://$(HOST):$(PORT)/admin/  (create a login: make admin)"
	@echo ""
	$(PY) manage.py runserver $(HOST):$(PORT)

admin: $(VENV)/.installed  ## Create an operator account for the admin.
	$(PY) manage.py migrate --noinput
	$(PY) manage.py createsuperuser

test: test-embedded test-services  ## Set up and run the whole suite in both deployments.

test-embedded: $(VENV)/.installed
	@echo "== test suite on the embedded default (SQLite, in-process worker, in-memory layer)"
	env -u DATABASE_URL -u BROKER_URL -u CHANNEL_LAYER_URL \
		$(PY) -m pytest -n 2 $(PYTEST_ARGS)

test-services: $(VENV)/.installed
	@echo "== test suite on PostgreSQL + Redis (broker and channel layer)"
	$(SERVICES_ENV) $(PY) -m pytest -n 2 $(PYTEST_ARGS)

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .

bench: $(VENV)/.installed  ## Run the benchmarks; see bench/RESULTS.md.
	$(PY) bench/bench_engine.py

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
