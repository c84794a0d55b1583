#!/usr/bin/env bash
# Runs the integration suite (t/integration) against the built module.
#
#   scripts/run-integration.sh [pytest args...]
#
# Needs: make modules (build/nginx/ngx_http_ingest_module.so), Debian's
# nginx, python3-pytest, python3-requests, python3-tuspy, python3-boto3,
# awscli, node + npm.
# Environment: INGEST_MODULE (path of the .so), INGEST_NGINX (nginx binary),
# PYTHON (default /usr/bin/python3: Debian's, with the Debian packages).
# The exit code is pytest's; its summary is the last line printed.

set -u

cd "$(dirname "$0")/.." || exit 2
ROOT=$(pwd)
PYTHON=${PYTHON:-/usr/bin/python3}

if [ ! -d "$ROOT/t/js/node_modules/tus-js-client" ] \
    || [ ! -d "$ROOT/t/js/node_modules/@aws-sdk/lib-storage" ]; then
    echo "run-integration: installing t/js node modules" >&2
    if [ -f "$ROOT/t/js/package-lock.json" ]; then
        (cd "$ROOT/t/js" && npm ci --no-audit --no-fund --loglevel=error) >&2
    else
        (cd "$ROOT/t/js" && npm install --no-audit --no-fund --loglevel=error) >&2
    fi || echo "run-integration: npm failed; client tests will fail" >&2
fi

if [ ! -f "${INGEST_MODULE:-$ROOT/build/nginx/ngx_http_ingest_module.so}" ]; then
    echo "run-integration: module not built (run make modules)" >&2
fi

exec "$PYTHON" -m pytest -v t/integration "$@"
