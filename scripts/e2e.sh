#!/usr/bin/env bash
# End-to-end checks against the real `api` binary on a fresh database:
#   1. Swagger UI in headless Chromium: POST /jobs?date=2023-01-01 → 202 → GET /jobs/{id}
#      until succeeded (screenshot in target/swagger-e2e.png);
#   2. schemathesis fuzzes every operation from the served /openapi.json: no 5xx, every
#      response conforms to the spec.
# Needs the tools of scripts/install-test-tools.sh and PostgreSQL at DATABASE_URL's server.
set -euo pipefail
cd "$(dirname "$0")/.."

admin_url="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
database="dwh_e2e_$$"
database_url="${admin_url%/*}/$database"
data_dir="$(mktemp -d)"
api_pid=""
cleanup() {
    [[ -n "$api_pid" ]] && kill -TERM "$api_pid" 2>/dev/null && wait "$api_pid" 2>/dev/null || true
    psql "$admin_url" -qc "DROP DATABASE IF EXISTS $database WITH (FORCE)" >/dev/null 2>&1 || true
    rm -rf "$data_dir"
}
trap cleanup EXIT

cargo build --locked -q -p api -p generator --bins
psql "$admin_url" -qc "CREATE DATABASE $database" >/dev/null
# An hour of 2023-01-01 (60 files, 114,840 rows) keeps the run short.
target/debug/generator --from "2023-01-01 00:00" --to "2023-01-01 00:59" --out "$data_dir" >/dev/null

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
# With a token, as a deployment would run: the UI test uses the Authorize button and
# schemathesis checks that POSTs without it are refused.
token="e2e-$(python3 -c 'import secrets; print(secrets.token_hex(16))')"
DATABASE_URL="$database_url" DATA_DIR="$data_dir" BIND="127.0.0.1:$port" API_TOKEN="$token" \
    LOG_FORMAT=json RUST_LOG=warn target/debug/api >target/e2e-api.log 2>&1 &
api_pid=$!
for _ in $(seq 1 60); do
    curl -fsS "$base/readyz" >/dev/null 2>&1 && break
    kill -0 "$api_pid" 2>/dev/null || { cat target/e2e-api.log >&2; exit 1; }
    sleep 0.5
done

echo "==> Swagger UI in headless Chromium"
(cd api/tests/e2e && API_TOKEN="$token" node swagger.mjs "$base" ../../../target/swagger-e2e.png)

echo "==> schemathesis against $base/openapi.json"
# positive_data_acceptance is left out: a valid date without source files is a documented
# 422, not a 2xx. Every other check runs.
target/e2e-venv/bin/schemathesis run "$base/openapi.json" -H "Authorization: Bearer $token" \
    --checks all --exclude-checks positive_data_acceptance \
    --max-examples 50 --seed 1 --workers 2 --warnings off \
    --report junit --report-dir target/schemathesis
if grep -qE '"status": ?5[0-9][0-9]|panicked' target/e2e-api.log; then
    echo "the API logged a server error or a panic during the run:" >&2
    grep -E '"status": ?5[0-9][0-9]|panicked' target/e2e-api.log >&2
    exit 1
fi
