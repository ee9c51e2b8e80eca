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

.PHONY: run test test-embedded test-services lint audit bench admin clean browser

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

run: $(VENV)/.installed  ## Set up and start the platform on the embedded default.
	$(PY) manage.py migrate --noinput
	$(PY) manage.py import_templates
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

# The admin console's browser tests drive Debian's Chromium (never a downloaded browser build).
browser:  ## Install Chromium for the browser tests when it is missing.
	@test -x /usr/bin/chromium || { \
		echo "== installing Debian's chromium for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

test: test-embedded test-services  ## Set up and run the whole suite in both deployments.

test-embedded: $(VENV)/.installed browser
	@echo "== test suite on the embedded default (SQLite, in-process worker, in-memory layer)"
	env -u DATABASE_URL -u BROKER_URL -u CHANNEL_LAYER_URL \
		$(PY) -m pytest -n 2 $(PYTEST_ARGS)

test-services: $(VENV)/.installed browser
	@echo "== test suite on PostgreSQL + Redis (broker and channel layer)"
	$(SERVICES_ENV) $(PY) -m pytest -n 2 -m "not faults" $(PYTEST_ARGS)
	@echo "== fault tests: workers killed, PostgreSQL and Redis restarted (run alone)"
	$(SERVICES_ENV) $(PY) -m pytest -n 0 -m faults $(PYTEST_ARGS) || test $$? -eq 5

audit: $(VENV)/.installed  ## Known vulnerabilities of the installed packages (needs PyPI's JSON API).
	$(VENV)/bin/pip-audit --local --strict --progress-spinner off

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .

bench: $(VENV)/.installed  ## Run the benchmarks; see bench/RESULTS.md.
	$(PY) bench/bench_engine.py

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
