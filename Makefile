# The two commands: `make run` and `make test`. Everything else is a step they call.
# python3 if it is 3.11 or newer, else the first versioned python3.1x on PATH that is.
PYTHON ?= $(or $(shell for p in python3 python3.13 python3.12 python3.11; do \
	$$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1 && { echo $$p; break; }; \
	done),python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml requirements.lock | cksum | cut -d' ' -f1)
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: run test setup bench audit lint format migrate seed messages check-deploy check-migrations mutation clean

$(STAMP): pyproject.toml requirements.lock
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.lock
	@rm -f $(VENV)/.installed-* && touch $@

setup: $(STAMP) .env messages

# A developer's own settings: DEBUG on and a random SECRET_KEY, never committed or shipped.
.env:
	@$(PYTHON) -c 'import secrets; print("DEBUG=1\nSECRET_KEY=" + secrets.token_urlsafe(50))' > $@
	@echo "wrote .env (DEBUG=1 and a random SECRET_KEY for this checkout)"

messages: $(STAMP)
	@$(BIN)/python scripts/compile_messages.py

migrate: setup
	DEBUG=$${DEBUG-1} $(BIN)/python manage.py migrate --no-input -v1

seed: migrate
	DEBUG=$${DEBUG-1} $(BIN)/python manage.py seed_demo

run: seed
	@DEBUG=$${DEBUG-1} PORT=$${PORT-8000} BIN=$(BIN) $(BIN)/python scripts/run.py

test: setup
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: setup
	$(BIN)/python bench/run.py

# Security checks. bandit: no medium or high finding without a `# nosec <test>` and its reason.
# pip-audit asks PyPI's vulnerability database (OSV/PyPI JSON API) about every pinned package;
# offline (as here) it cannot, and says so without failing the target: run it where it can.
audit: setup
	$(BIN)/python -m pip install -q -r requirements-audit.lock
	$(BIN)/python -m pip check
	$(BIN)/bandit -q -r aiops_site core pilots feedback bench scripts -x '*/migrations/*' -ll
	@rc=0; timeout 60 $(BIN)/pip-audit -r requirements.lock --progress-spinner off --timeout 15 \
	  || rc=$$?; if [ $$rc -eq 124 ]; then \
	  echo "pip-audit: no answer from the vulnerability database (offline?); run it with network access."; \
	  elif [ $$rc -ne 0 ]; then exit $$rc; fi

# Mutation testing, never in CI or images: mutmut in its own venv (not in requirements.lock),
# configured in pyproject.toml [tool.mutmut]. Slow: hours for the five modules on 2 cores.
# Only some mutants: `make mutation MUTANTS='feedback.stats.*'`; then `.venv-mutation/bin/mutmut
# results` lists the survivors and `mutmut show NAME` shows one.
MUTATION_VENV := .venv-mutation
MUTMUT ?= mutmut==3.8.1
MUTATION_JOBS ?= 2
# The test database as migrations build it, saved by the first test session of a run and
# restored by every mutant's session instead of migrating again (tests/conftest.py).
MUTATION_DB_TEMPLATE := $(CURDIR)/var/mutation-test-db.sqlite3
mutation:
	@test -x $(MUTATION_VENV)/bin/python || $(PYTHON) -m venv $(MUTATION_VENV)
	$(MUTATION_VENV)/bin/python -m pip install -q -r requirements.lock '$(MUTMUT)'
	@# The French catalogue, compiled (not in git): mutmut copies locale/ for the tests.
	$(MUTATION_VENV)/bin/python scripts/compile_messages.py
	@mkdir -p var && rm -f $(MUTATION_DB_TEMPLATE)
	AIOPS_MUTATION_DB_TEMPLATE=$(MUTATION_DB_TEMPLATE) \
	  $(MUTATION_VENV)/bin/mutmut run --max-children $(MUTATION_JOBS) $(MUTANTS)
	$(MUTATION_VENV)/bin/mutmut results

check-migrations: setup
	DEBUG=1 $(BIN)/python manage.py makemigrations --check --dry-run

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

check-deploy: setup
	DEBUG=0 SECRET_KEY=$$($(BIN)/python -c 'import secrets;print(secrets.token_urlsafe(50))') \
	  ALLOWED_HOSTS=pilots.example.com EMAIL_URL=$${EMAIL_URL:-smtp+tls://smtp.example.com:587} $(BIN)/python manage.py check --deploy --fail-level WARNING

clean:
	rm -rf $(VENV) var $(MUTATION_VENV) mutants
