# Two commands for a fresh machine: `make run` (the product) and `make test` (every test).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# Tests run on the machine's PostgreSQL and Redis unless told otherwise.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/portal
TEST_BROKER_URL ?= redis://127.0.0.1:6379/5

.PHONY: run test test-fast install bench clean messages

# pytest keeps its rewritten test modules as bytecode in __pycache__/ (ignored by git);
# a shell with PYTHONDONTWRITEBYTECODE set would recompile every test module on every
# run (about 8 s of each run's collection here).
unexport PYTHONDONTWRITEBYTECODE

$(VENV)/.installed: requirements.txt requirements-dev.txt kustomer_sandbox/requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	./scripts/ensure_gettext.sh
	$(PY) manage.py compilemessages --ignore '.venv*' -v 0
	touch $@

# singer-io's tap-kustomer (a public Kustomer client the tests run against the sandbox)
# pins requests==2.31.0: it gets a virtualenv of its own, from its pinned file.
TAP_VENV := .venv-tap-kustomer
TAP_REQUIREMENTS := tests/third_party/requirements-tap-kustomer.txt
$(TAP_VENV)/.installed: $(TAP_REQUIREMENTS)
	$(PYTHON) -m venv --clear $(TAP_VENV)
	$(TAP_VENV)/bin/python -m pip install --quiet -r $(TAP_REQUIREMENTS)
	cp $(TAP_REQUIREMENTS) $@

install: $(VENV)/.installed $(TAP_VENV)/.installed

run: $(VENV)/.installed
	$(PY) manage.py run_stack

test: $(VENV)/.installed $(TAP_VENV)/.installed
	./scripts/ensure_chromium.sh
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} \
	CELERY_BROKER_URL=$${CELERY_BROKER_URL:-$(TEST_BROKER_URL)} \
	CACHE_URL=$${CACHE_URL:-locmemcache://} \
	$(PY) -m pytest $(PYTEST_ARGS)

# The fast layer: pure tests (`unit`) and database tests (`db`), two processes that
# steal work from each other, the test databases kept between runs (Django still applies
# new migrations), and schemathesis at 3 generated cases per API operation instead of
# 12. No e2e, browser or fault tests: `make test` runs those, and the 12 cases.
test-fast: $(VENV)/.installed
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} \
	CELERY_BROKER_URL=$${CELERY_BROKER_URL:-$(TEST_BROKER_URL)} \
	CACHE_URL=$${CACHE_URL:-locmemcache://} \
	SCHEMATHESIS_EXAMPLES=$${SCHEMATHESIS_EXAMPLES:-3} \
	$(PY) -m pytest -m "unit or db" -n 2 --dist worksteal --reuse-db $(PYTEST_ARGS)

# After changing a translatable text: refresh the catalogues, translate what is new in
# locale/ko/LC_MESSAGES/django.po, then `make install` (or compilemessages).
messages: $(VENV)/.installed
	$(PY) manage.py makemessages -l ko --no-obsolete --ignore '.venv*' --ignore 'kustomer_sandbox' --ignore 'bench' --ignore 'loadtest' --ignore 'tests' --ignore 'var'
	$(PY) manage.py compilemessages --ignore '.venv*' -v 0

clean:
	rm -rf $(VENV) $(TAP_VENV) var staticfiles

# --- Benchmarks, fault suite, traffic simulator (bench/, loadtest/) ----------------------
# Each starts what it needs on 127.0.0.1 (its own PostgreSQL database, Redis db 15 or a
# private redis-server), stops it again, prints a verdict with its figures and exits
# non-zero when a target or the fault suite's "0 lost, 0 duplicated" does not hold.
.PHONY: faults simulate
BENCH_ARGS ?=
FAULTS_ARGS ?=
SIMULATE_URL ?= http://127.0.0.1:8000
SIMULATE_ARGS ?= --agents 5 --events 200 --rate 10 --seed 1

bench: $(VENV)/.installed  ## status endpoint vs bare view, watcher, ingestion, rate limit, concurrency -> BENCHMARKS.md
	timeout --signal=INT 2400 $(PY) bench/run_bench.py $(BENCH_ARGS)

# Issue 16's figures alone (50 tenants, 0/150 ms Kustomer, a noisy tenant, budgets):
# `make bench-concurrency`, or BENCH_ARGS="--only concurrency" make bench.
.PHONY: bench-concurrency
bench-concurrency: $(VENV)/.installed
	timeout --signal=INT 1200 $(PY) bench/run_bench.py --only concurrency $(BENCH_ARGS)

faults: $(VENV)/.installed  ## kill workers, lose the broker, cut Kustomer off, 429/5xx storms, duplicates
	timeout --signal=INT 900 $(PY) bench/faults.py $(FAULTS_ARGS)

# The API key is read from PORTAL_API_KEY, else from the file `make run` keeps it in
# (var/demo-api-key): never on a command line, where ps and make's echo would show it.
simulate: $(VENV)/.installed  ## a contact-center day against a running portal (key: $$PORTAL_API_KEY or var/demo-api-key)
	$(PY) manage.py simulate_traffic --url $(SIMULATE_URL) $(SIMULATE_ARGS)

# A contact-center day with a judge (bench/soak.py): SOAK_ARGS="--setup pg --faults --events 2000 --agents 20 --record"
.PHONY: soak
SOAK_ARGS ?= --setup single --events 300 --agents 8
soak: $(VENV)/.installed  ## a day through a stack of its own, then invariants checked against the sandbox
	timeout --signal=INT 1800 $(PY) bench/soak.py $(SOAK_ARGS)
