#!/usr/bin/env bash
# The tests use a real PostgreSQL server, a real Redis (behind the addok geocoder, whose own
# virtualenv scripts/addok-env.sh makes) and a real Chromium, from Debian's packages, and npm
# (Debian's nodejs and npm) to install axe-core for the accessibility check and vnu-jar (the Nu
# HTML checker) for the HTML validation, which runs on Java (Debian's default-jre-headless).
# Installs whichever is missing when we can (root with apt-get); otherwise says what is missing.
# In CI (CI=true) the tests themselves fail when one is absent.
set -euo pipefail

missing=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 || missing+=(postgresql)
command -v redis-server >/dev/null 2>&1 || test -x /usr/bin/redis-server || missing+=(redis-server)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
# npm apart from node: some Node.js builds bundle npm, Debian's ships it as its own package.
command -v node >/dev/null 2>&1 || command -v nodejs >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
command -v java >/dev/null 2>&1 || missing+=(default-jre-headless)
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing ${missing[*]} (Debian packages) for the tests..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # The tests start their own throwaway cluster; the packaged one need not run.
  if [[ " ${missing[*]} " == *" postgresql "* ]] && command -v service >/dev/null 2>&1; then
    service postgresql stop >/dev/null 2>&1 || true
  fi
  # Likewise, the tests start their own throwaway Redis on a free port.
  if [[ " ${missing[*]} " == *" redis-server "* ]] && command -v service >/dev/null 2>&1; then
    service redis-server stop >/dev/null 2>&1 || true
  fi
else
  echo "Missing for the tests: ${missing[*]} (apt-get install ${missing[*]}); those tests will be skipped locally and fail in CI."
fi
