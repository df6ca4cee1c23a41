#!/usr/bin/env bash
# Runs the whole test suite against the local PostgreSQL (127.0.0.1:5432, user postgres).
# Installs what the suite needs on a fresh machine first; safe to run repeatedly.
set -euo pipefail
cd "$(dirname "$0")/.."

export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"

scripts/ensure-postgres.sh

cargo test --workspace --locked "$@"
