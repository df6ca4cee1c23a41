#!/usr/bin/env bash
# From a fresh clone to a running service: brings a PostgreSQL if there is none (see
# scripts/postgres.sh), builds, creates and migrates the database, generates 2023-01-01 if
# the data directory lacks it, and serves the API. A second run rebuilds nothing that did
# not change, downloads nothing, and keeps the data and the database.
#
# DATASETS_FILE, when set, declares more datasets beside the sample (try
# deploy/datasets/example.toml: an hourly dataset with one day in the repository).
#
# DATABASE_URL, when set, is used as it is. Otherwise: the server on 127.0.0.1:5432
# (database dwh, user postgres), or an embedded one (forced with DWH_EMBEDDED_PG=1; under
# target/embedded-pg/, or as root under /var/lib/dwh-postgres/), stopped again when the API
# stops (Ctrl-C).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/postgres.sh

export DATA_DIR="${DATA_DIR:-data}"
export BIND="${BIND:-127.0.0.1:8080}"
given_url=${DATABASE_URL:-}
use_postgres
if [[ -z $given_url || -n ${EMBEDDED_PG_STARTED:-} ]]; then
    export DATABASE_URL="${DATABASE_URL%/*}/dwh"
fi
say "the API will use DATABASE_URL=$(redact "$DATABASE_URL")"

echo "==> building (release)"
cargo build --release --locked --bins

# Create the database named in DATABASE_URL if it does not exist yet.
db_name="${DATABASE_URL##*/}"; db_name="${db_name%%\?*}"
admin_url="${DATABASE_URL%/*}/postgres"
if [[ -z "$(psql "$admin_url" -qAtc "SELECT 1 FROM pg_database WHERE datname = '$db_name'")" ]]; then
    echo "==> creating database $db_name"
    psql "$admin_url" -qc "CREATE DATABASE \"$db_name\""
fi
echo "==> migrating"
target/release/loader migrate

echo "==> sample data for 2023-01-01 in $DATA_DIR/ (existing files are kept)"
target/release/generator --date 2023-01-01 --out "$DATA_DIR"

cat <<MSG

==> serving on http://$BIND
    Dashboard:   http://$BIND/
    Swagger UI:  http://$BIND/docs
    Load a day:  curl -X POST 'http://$BIND/jobs?date=2023-01-01'
    Follow it:   curl 'http://$BIND/jobs/<id from the answer>'
    The day:     curl 'http://$BIND/partitions/2023-01-01'
    Every day:   curl 'http://$BIND/days?from=2023-01-01&to=2023-01-31'
    Complete days in $DATA_DIR/ load by themselves 10 s after their last file lands
    (WATCH=off turns that off; LIVE=on also appends each minute of a day as it lands).
    Stop with Ctrl-C.

MSG
if [[ -n ${DATASETS_FILE:-} ]]; then
    cat <<MSG
    Datasets of $DATASETS_FILE beside the sample (each watched; its complete days load
    by themselves too):
    Datasets:    curl 'http://$BIND/datasets'
    One of them: curl 'http://$BIND/days?from=2024-03-01&to=2024-03-31&dataset=<name>'
    Its page:    http://$BIND/?dataset=<name>

MSG
fi
if [[ -z ${EMBEDDED_PG_STARTED:-} ]]; then
    exec target/release/api
fi
# The embedded server stops with the API: Ctrl-C reaches the API (it finishes or hands
# back its jobs), then the server shuts down cleanly; its data is kept for the next run.
trap 'embedded_pg_stop "$EMBEDDED_PG_STARTED"' EXIT
target/release/api &
api_pid=$!
trap 'kill -INT "$api_pid" 2>/dev/null || true' INT TERM
wait "$api_pid" || true   # returns early when a signal arrives
wait "$api_pid" || true   # until the API has shut down
