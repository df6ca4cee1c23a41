#!/usr/bin/env bash
# Runs the whole test suite against the local PostgreSQL (127.0.0.1:5432, user postgres):
# the Rust tests (unit, integration, kill tests against the real binary), the deployment
# file checks, then the end-to-end checks (Swagger UI in headless Chromium, schemathesis).
# Installs what the suite needs on a fresh machine first; safe to run repeatedly.
set -euo pipefail
cd "$(dirname "$0")/.."

export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"

scripts/ensure-postgres.sh
scripts/install-test-tools.sh

cargo test --workspace --locked "$@"
target/e2e-venv/bin/python deploy/check_compose.py
scripts/e2e.sh
