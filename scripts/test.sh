#!/usr/bin/env bash
# Runs the whole test suite: the Rust tests (unit, integration, kill tests against the real
# binary), the deployment file checks (compose; the alert rules and the Grafana dashboard
# with promtool), the end-to-end checks (Swagger UI in headless
# Chromium, schemathesis, a PostgreSQL outage), pipeline mode live end to end, a day
# through a bucket of a real S3-compatible server, then the embedded PostgreSQL check.
# Installs what the suite needs on a fresh machine first, PostgreSQL included (see
# scripts/postgres.sh: DATABASE_URL, else the local server, else one it brings);
# safe to run repeatedly.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/postgres.sh

use_postgres
[[ -n "${EMBEDDED_PG_STARTED:-}" ]] && trap 'embedded_pg_stop "$EMBEDDED_PG_STARTED"' EXIT
scripts/install-test-tools.sh

cargo test --workspace --locked "$@"
target/e2e-venv/bin/python deploy/check_compose.py
scripts/check-alerts.sh
scripts/e2e.sh
scripts/live-e2e.sh
scripts/bucket-e2e.sh
scripts/embedded-pg-check.sh
