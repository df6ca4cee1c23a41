#!/usr/bin/env bash
# From a fresh clone to a running service: builds, creates and migrates the database,
# generates 2023-01-01 if the data directory lacks it, and serves the API.
#
# Uses the local PostgreSQL at 127.0.0.1:5432 as user postgres unless DATABASE_URL is set.
set -euo pipefail
cd "$(dirname "$0")/.."

export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/dwh}"
export DATA_DIR="${DATA_DIR:-data}"
export BIND="${BIND:-127.0.0.1:8080}"

scripts/ensure-postgres.sh
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
    Swagger UI:  http://$BIND/docs
    Load a day:  curl -X POST 'http://$BIND/jobs?date=2023-01-01'
    Follow it:   curl 'http://$BIND/jobs/<id from the answer>'
    The day:     curl 'http://$BIND/partitions/2023-01-01'
    Stop with Ctrl-C.

MSG
exec target/release/api
