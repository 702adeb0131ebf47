# Two commands matter: `make demo` and `make test`. Everything else is what they call.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
UV_VERSION := 0.13.9

.PHONY: install demo serve test test-sqlite test-postgres lint typecheck migrations-check check lock bench-generate messages reliability clean

$(STAMP): requirements-dev.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(BIN)/uv pip sync --quiet --python $(BIN)/python requirements-dev.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

## make demo: set up, load the demo county into var/baogong.sqlite3 and serve on 127.0.0.1:8000
demo: install
	$(BIN)/baogong demo

## make test: every test, on SQLite (and on PostgreSQL too when DATABASE_URL points to one)
test: install
	$(BIN)/pytest -n 2 -q

## make reliability: the reliability tests (R1-R21) on SQLite, and PostgreSQL when DATABASE_URL points to one;
## the summary table goes to docs/reliability.md
reliability: install
	$(BIN)/python bench/reliability.py

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: install
	$(BIN)/mypy

migrations-check: install
	$(BIN)/python manage.py makemigrations --check --dry-run

check: lint typecheck migrations-check

## Regenerate the lock files after changing pyproject.toml dependencies.
lock: install
	$(BIN)/uv pip compile --quiet --python-version 3.11 pyproject.toml -o requirements.lock
	$(BIN)/uv pip compile --quiet --python-version 3.11 pyproject.toml --extra dev -o requirements-dev.lock

messages: install
	cd src/baogong && ../../$(BIN)/django-admin makemessages -l zh_Hans --settings=baogong.config.settings.test && ../../$(BIN)/django-admin compilemessages --settings=baogong.config.settings.test

bench-generate: install
	$(BIN)/python bench/generate.py

clean:
	rm -rf $(VENV) var/*.sqlite3* var/static
