#!/usr/bin/env bash
# First start of the PostgreSQL container: least-privilege roles and the dwh database.
# dwh_loader owns the database (so the migrations it runs own schemas dwh and ops) but is
# not a superuser and cannot create databases or roles; dwh_api (the HTTP side) reads and
# queues jobs; dwh_reader can only read dwh.
set -euo pipefail
for name in POSTGRES_PASSWORD LOADER_PASSWORD API_PASSWORD READER_PASSWORD; do
    if [[ "${!name:-}" == change-me* || -z "${!name:-}" ]]; then
        echo "refusing to create the database: $name is empty or still the example's (change-me…); set it in .env" >&2
        exit 1
    fi
done
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
    -v loader_password="$LOADER_PASSWORD" -v api_password="$API_PASSWORD" \
    -v reader_password="$READER_PASSWORD" \
    -f /docker-entrypoint-initdb.d/roles.sql.in
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
    -c "CREATE DATABASE dwh OWNER dwh_loader"
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname dwh \
    -f /docker-entrypoint-initdb.d/grants.sql.in
