#!/usr/bin/env bash
# The demo (`make run`) with Eure-et-Loir signing in with FranceConnect at the local test provider
# (tests/support/oidc/provider.mjs, npm oidc-provider: `npm ci` first). No network needed.
#   bash scripts/franceconnect-demo.sh        then http://eure-et-loir.localhost:8000/activation
set -euo pipefail
cd "$(dirname "$0")/.."
PORT="${PORT:-8000}"
OIDC_PORT="${OIDC_PORT:-8081}"
BASE="http://eure-et-loir.localhost:${PORT}"
TENANTS="var/franceconnect-demo-tenants"
export ASSMAT_FRANCECONNECT_DEMO_SECRET="demo-secret-of-the-local-provider-only-0123456789"
export OIDC_CLIENT_ID="assmat-demo" OIDC_CLIENT_SECRET="$ASSMAT_FRANCECONNECT_DEMO_SECRET"
export OIDC_REDIRECT_URIS="${BASE}/franceconnect/retour" OIDC_POST_LOGOUT_REDIRECT_URIS="${BASE}/franceconnect/deconnecte"

mkdir -p var && rm -rf "$TENANTS" && cp -r tenant_configs "$TENANTS"
python3 - "$TENANTS/eure-et-loir.yaml" "http://127.0.0.1:${OIDC_PORT}/api/v2" <<'PY'
import re, sys
path, issuer = sys.argv[1], sys.argv[2]
text = open(path, encoding="utf-8").read()
section = (f"franceconnect:\n  enabled: true\n  environment: {issuer}\n  client_id: assmat-demo\n"
           f"  client_secret_env: ASSMAT_FRANCECONNECT_DEMO_SECRET\n")
text, count = re.subn(r"^franceconnect:.*\n(?:[ ].*\n)*", section, text, flags=re.M)
assert count == 1, "eure-et-loir.yaml has no franceconnect section"
open(path, "w", encoding="utf-8").write(text)
PY

node tests/support/oidc/provider.mjs "$OIDC_PORT" &
PROVIDER=$!
trap 'kill $PROVIDER' EXIT
ASSMAT_TENANT_CONFIGS="$TENANTS" make run PORT="$PORT"
