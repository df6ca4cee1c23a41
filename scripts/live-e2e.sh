#!/usr/bin/env bash
# Pipeline mode end to end, with the real binaries on a fresh database: an empty data
# directory, the API with LIVE=on, and `generator --live --speed 600` writing a whole day
# (1,440 files at ten a second). While the day arrives, its minutes are queryable, each
# exactly once; when it is complete it is loaded by itself, by one `auto` job, and ends
# with 1,914 rows in every one of its minutes.
# Needs PostgreSQL at DATABASE_URL's server (the test command provides it).
set -euo pipefail
cd "$(dirname "$0")/.."

admin_url="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
database="dwh_live_e2e_$$"
database_url="${admin_url%/*}/$database"
data_dir="$(mktemp -d)"
api_pid=""
source_pid=""
cleanup() {
    [[ -n "$source_pid" ]] && kill "$source_pid" 2>/dev/null || true
    [[ -n "$api_pid" ]] && kill -TERM "$api_pid" 2>/dev/null && wait "$api_pid" 2>/dev/null || true
    psql "$admin_url" -qc "DROP DATABASE IF EXISTS $database WITH (FORCE)" >/dev/null 2>&1 || true
    rm -rf "$data_dir"
}
trap cleanup EXIT
fail() { echo "live e2e: $*" >&2; tail -20 target/live-e2e-api.log >&2; exit 1; }
q() { psql -qAt "$database_url" -c "$1"; }

# The binaries as the test command builds them: another set of packages would unify
# other features and rebuild shared dependencies for minutes.
cargo test --workspace --locked -q --no-run
psql "$admin_url" -qc "CREATE DATABASE $database" >/dev/null
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
DATABASE_URL="$database_url" DATA_DIR="$data_dir" BIND="127.0.0.1:$port" LIVE=on \
    LOG_FORMAT=json RUST_LOG=info target/debug/api >target/live-e2e-api.log 2>&1 &
api_pid=$!
for _ in $(seq 1 60); do
    curl -fsS "$base/readyz" >/dev/null 2>&1 && break
    kill -0 "$api_pid" 2>/dev/null || fail "the API did not start"
    sleep 0.5
done

echo "==> generator --live --speed 600 for 2023-01-01 (about 2.5 minutes)"
target/debug/generator --live --speed 600 --date 2023-01-01 --out "$data_dir" \
    >target/live-e2e-generator.log 2>&1 &
source_pid=$!

# Rows per minute of the day, as "minutes|minutes with exactly 1,914 rows|rows".
minutes() {
    q "SELECT count(*), count(*) FILTER (WHERE n = 1914), coalesce(sum(n), 0) FROM (
           SELECT count(*) AS n FROM dwh.data_sample
           WHERE create_at >= '2023-01-01' AND create_at < '2023-01-02'
           GROUP BY date_trunc('minute', create_at)) m"
}
checks=0
while kill -0 "$source_pid" 2>/dev/null; do
    sleep 15
    kill -0 "$source_pid" 2>/dev/null || break
    IFS='|' read -r present whole rows < <(minutes)
    state=$(curl -fsS "$base/days?from=2023-01-01&to=2023-01-01" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["state"])')
    echo "    $present minutes queryable, $whole of them whole; the day is $state"
    [[ $present -gt 0 && $whole == "$present" ]] || fail "live minutes are missing or not whole"
    [[ $state == live ]] || fail "the day is $state while it arrives, expected live"
    checks=$((checks + 1))
done
wait "$source_pid" || fail "the generator failed: $(tail -5 target/live-e2e-generator.log)"
source_pid=""
[[ $checks -ge 3 ]] || fail "only $checks looks at the day while it arrived"

echo "==> the complete day loads by itself"
for _ in $(seq 1 240); do
    state=$(curl -fsS "$base/days?from=2023-01-01&to=2023-01-01" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["state"])')
    [[ $state == loaded ]] && break
    sleep 0.5
done
[[ $state == loaded ]] || fail "the day is $state, not loaded"
jobs=$(q "SELECT string_agg(trigger || ':' || status, ',') FROM ops.jobs WHERE date = '2023-01-01'")
IFS='|' read -r present whole rows < <(minutes)
live=$(q "SELECT count(*) FROM ops.minute_files WHERE day = '2023-01-01' AND loaded_by = 'job'")
echo "    jobs: $jobs; $present minutes, $whole with 1,914 rows, $rows rows; $live files loaded by the job"
[[ $jobs == "auto:succeeded" ]] || fail "expected one auto job that succeeded, got $jobs"
[[ $present == 1440 && $whole == 1440 && $rows == 2756160 && $live == 1440 ]] \
    || fail "the loaded day is not whole and exact"
if grep -qE '"status": ?5[0-9][0-9]|panicked' target/live-e2e-api.log; then
    fail "the API logged a server error or a panic"
fi
echo "==> live e2e passed"
