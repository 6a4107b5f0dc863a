# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
PORT ?= 8000
VENV := .venv
BIN := $(VENV)/bin
# Reinstalled whenever pyproject.toml changes.
STAMP := $(VENV)/.installed

.PHONY: run test demo messages docs check-config clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[test]"
	@touch $(STAMP)

## Serve the demo: migrate an SQLite file under var/, load demo data, serve every tenant.
run: $(STAMP)
	$(BIN)/assmat check-config
	$(BIN)/assmat db upgrade
	ASSMAT_MAIL_BACKEND=file $(BIN)/assmat demo --port $(PORT)
	ASSMAT_MAIL_BACKEND=file ASSMAT_PUBLIC_URL_TEMPLATE="http://{slug}.localhost:$(PORT)" $(BIN)/assmat serve --host 127.0.0.1 --port $(PORT)

## Run the whole suite: SQLite, a throwaway PostgreSQL cluster, real SMTP, Chromium.
test: $(STAMP)
	@bash scripts/system-deps.sh
	$(BIN)/pytest

## Re-extract the translatable texts and merge them into the French catalog.
messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg --no-location --sort-output --project assmat -o assmat/i18n/messages.pot .
	$(BIN)/pybabel update -i assmat/i18n/messages.pot -d assmat/i18n/locale -l fr --no-fuzzy-matching --width 100

check-config: $(STAMP)
	$(BIN)/assmat check-config

clean:
	rm -rf $(VENV) var .pytest_cache

## Regenerate the tenant configuration reference from the schema.
docs: $(STAMP)
	$(BIN)/python -m assmat.tenants.docs > docs/tenant-config.md
