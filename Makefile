# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
PORT ?= 8000
VENV := .venv
BIN := $(VENV)/bin
# Reinstalled whenever pyproject.toml changes.
STAMP := $(VENV)/.installed
# axe-core and vnu-jar for the accessibility and HTML tests (and Lighthouse for a benchmark),
# from the npm registry, pinned by package-lock.json;
# reinstalled (npm ci) whenever the lock file changes.
NODE_STAMP := node_modules/.installed
# The addok geocoder the tests run against, in a virtualenv of its own (its pinned dependencies
# never meet the app's); reinstalled whenever its pins change.
ADDOK_STAMP := .tools/addok/.installed
# pytest-xdist: one test process per core (`auto`), each with its own PostgreSQL cluster, live
# server, Chromium and geocoder; a file stays on one process (its module fixtures are built once).
# TEST_WORKERS=0 runs the suite in this process.
TEST_WORKERS ?= auto

.PHONY: run test demo messages docs check-config clean system-deps

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

# PostgreSQL, Redis, Chromium, Node.js and npm from Debian's packages, when missing.
system-deps:
	@bash scripts/system-deps.sh

# After system-deps (which installs npm). Without npm (not root, no apt-get) the accessibility
# tests skip locally and fail in CI; a failing `npm ci` stops `make test`.
$(NODE_STAMP): package.json package-lock.json | system-deps
	@if command -v npm >/dev/null 2>&1; then \
	  npm ci --no-audit --no-fund --loglevel=error && touch $(NODE_STAMP); \
	else \
	  echo "npm not found: the accessibility tests will be skipped (they fail in CI)."; \
	fi

$(ADDOK_STAMP): scripts/addok-requirements.txt scripts/addok-env.sh
	PYTHON=$(PYTHON) bash scripts/addok-env.sh
	@touch $(ADDOK_STAMP)

## Check the import contracts (.importlinter), then run the whole suite: SQLite, a throwaway
## PostgreSQL cluster, real SMTP, a real addok geocoder on Redis, Chromium, axe-core, vnu. A broken contract stops it before pytest.
test: $(STAMP) system-deps $(NODE_STAMP) $(ADDOK_STAMP)
	$(BIN)/lint-imports --no-logo
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile

## Re-extract the translatable texts and merge them into the French catalog.
messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg --no-location --sort-output --project assmat -o assmat/core/i18n/messages.pot .
	$(BIN)/pybabel update -i assmat/core/i18n/messages.pot -d assmat/core/i18n/locale -l fr --no-fuzzy-matching --width 100

check-config: $(STAMP)
	$(BIN)/assmat check-config

clean:
	rm -rf $(VENV) var .pytest_cache .import_linter_cache node_modules .tools

## Regenerate the tenant configuration reference from the schema.
docs: $(STAMP)
	$(BIN)/python -m assmat.tenants.docs > docs/tenant-config.md
