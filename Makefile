# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PYBABEL := $(BIN)/pybabel
LOCALES := en fr es de uk

.PHONY: run test lint translations messages migrations clean

run: $(VENV)/.run-deps translations
	$(BIN)/exchange demo

test: $(VENV)/.test-deps translations tests/js/node_modules/.installed
	$(BIN)/pytest -q $(PYTEST_ARGS)

lint: $(VENV)/.test-deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check exchange tests benchmarks
	$(BIN)/mypy

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.run-deps: pyproject.toml setup.py | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.test-deps: pyproject.toml setup.py | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev]'
	touch $@ $(VENV)/.run-deps

# The page checkers the suite runs (axe-core in the browser, the Nu HTML checker), exactly
# as pinned in tests/js/package-lock.json. Without npm the suite still runs and skips
# those checks; CI installs npm and requires them.
tests/js/node_modules/.installed: tests/js/package.json tests/js/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		npm ci --prefix tests/js --no-audit --no-fund --loglevel=error && touch $@; \
	else \
		echo "npm is not installed: the accessibility and HTML checks will be skipped"; \
	fi

# Compile the message catalogues (the .mo files are build output, not kept in git).
translations: $(foreach l,$(LOCALES),exchange/locale/$(l)/LC_MESSAGES/messages.mo)

exchange/locale/%/LC_MESSAGES/messages.mo: exchange/locale/%/LC_MESSAGES/messages.po | $(VENV)/.run-deps
	$(PYBABEL) -q compile -d exchange/locale -D messages -l $*

# Re-extract every translatable string and merge it into the catalogues.
messages: $(VENV)/.run-deps
	$(PYBABEL) -q extract -F babel.cfg -k _ -k gettext -k ngettext:1,2 -k gettext_noop \
		--no-location --sort-output --project=Exchange -o exchange/locale/messages.pot .
	$(PYBABEL) -q update -i exchange/locale/messages.pot -d exchange/locale -D messages --no-fuzzy-matching

# Write a migration for model changes (tortoise's built-in migration system).
migrations: $(VENV)/.test-deps
	PYTHONPATH=. $(BIN)/tortoise makemigrations

clean:
	rm -rf $(VENV) var build dist tests/js/node_modules tests/artifacts *.egg-info exchange/locale/*/LC_MESSAGES/*.mo
