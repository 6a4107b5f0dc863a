#!/usr/bin/env bash
# Creates (or refreshes) .tools/addok: a virtualenv holding the addok geocoder the tests run
# against (tests/support/addok.py), pinned by scripts/addok-requirements.txt. Its own venv
# because addok pins exact versions of its dependencies; the app's .venv never sees them.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
ENV_DIR=.tools/addok

test -x "$ENV_DIR/bin/python" || "$PYTHON" -m venv "$ENV_DIR"
"$ENV_DIR/bin/python" -m pip install --quiet --disable-pip-version-check -r scripts/addok-requirements.txt
# addok-france still imports pkg_resources, which newer virtualenvs no longer carry.
"$ENV_DIR/bin/python" -c "import pkg_resources" 2>/dev/null \
  || "$ENV_DIR/bin/python" -m pip install --quiet --disable-pip-version-check "setuptools<81"
"$ENV_DIR/bin/addok" --help >/dev/null
