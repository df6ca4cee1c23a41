#!/usr/bin/env bash
# End-to-end checks against the real `api` binary on a fresh database:
#   The instance serves a datasets file: the sample, and `meters`, an hourly dataset whose
#   day 2023-01-01 is written here with pyarrow.
#   1. Swagger UI in headless Chromium: POST /jobs?date=2023-01-01 → 202 → GET /jobs/{id}
#      until succeeded, then the same for the meters' day with dataset=meters (screenshot
#      in target/swagger-e2e.png);
#   2. schemathesis fuzzes every operation from the served /openapi.json: no 5xx, every
#      response conforms to the spec (each event of GET /events too: it reads the first
#      events and closes the stream); once with a token, and once against a second
#      instance without one (its spec declares no bearer scheme), with another seed; and
#      GET /events once more with the Last-Event-ID before the Swagger UI's load, so that
#      the events kept since (the last 1,024: that load's job created, status, progress,
#      finished and its day among them, unless the fuzzing made more) are checked against
#      the spec;
#   3. the dashboard in headless Chromium (api/tests/e2e/dashboard.mjs): a load started
#      with the keyboard moves its bar to the end, a rollback to the version it replaced
#      from the versions panel, the month shows a loaded, a failed, a
#      running and a missing day (screenshots in target/dashboard-month-*.png), a cancel
#      from the page, axe-core on every page; then the second dataset
#      (api/tests/e2e/datasets.mjs): `/` lists both, the meters' day page draws its 24
#      hours and columns, a reload and a rollback from its page, its month, axe-clean;
#   4. PostgreSQL is stopped in the middle of a load and started again: the API stays up,
#      /readyz reports the outage and recovers, the job is retried and succeeds, the day
#      is whole and no staging table is left. (Only against a server this script may
#      stop: the embedded one the test command started, or the local cluster; skipped
#      when DATABASE_URL points elsewhere, failed under CI.)
# Needs the tools of scripts/install-test-tools.sh and PostgreSQL at DATABASE_URL's server.
set -euo pipefail
cd "$(dirname "$0")/.."

admin_url="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
database="dwh_e2e_$$"
database_url="${admin_url%/*}/$database"
data_dir="$(mktemp -d)"
empty_dir="$(mktemp -d)"
datasets_dir="$(mktemp -d)"
api_pid=""
open_pid=""
events_pid=""
cleanup() {
    [[ -n "$events_pid" ]] && kill "$events_pid" 2>/dev/null || true
    [[ -n "$open_pid" ]] && kill -TERM "$open_pid" 2>/dev/null && wait "$open_pid" 2>/dev/null || true
    [[ -n "$api_pid" ]] && kill -TERM "$api_pid" 2>/dev/null && wait "$api_pid" 2>/dev/null || true
    psql "$admin_url" -qc "DROP DATABASE IF EXISTS $database WITH (FORCE)" >/dev/null 2>&1 || true
    psql "$admin_url" -qc "DROP DATABASE IF EXISTS ${database}_open WITH (FORCE)" >/dev/null 2>&1 || true
    rm -rf "$data_dir" "$empty_dir" "$datasets_dir"
}
trap cleanup EXIT

# Waits until the api process $1 answers /readyz at $2; shows its log $3 if it dies first.
wait_until_ready() {
    for _ in $(seq 1 60); do
        curl -fsS "$2/readyz" >/dev/null 2>&1 && return 0
        kill -0 "$1" 2>/dev/null || { cat "$3" >&2; exit 1; }
        sleep 0.5
    done
}

# The binaries as the test command builds them: another set of packages would unify
# other features and rebuild shared dependencies for minutes.
cargo test --workspace --locked -q --no-run
psql "$admin_url" -qc "CREATE DATABASE $database" >/dev/null
# A whole day: an incomplete one is refused (422 day-incomplete) unless allow_partial=true.
target/debug/generator --date 2023-01-01 --out "$data_dir" >/dev/null
# The second dataset: 24 hourly files of ten meter readings each, and its declaration.
target/e2e-venv/bin/python - "$datasets_dir/meters/2023-01-01" <<'PY'
import datetime, pathlib, sys
import pyarrow as pa, pyarrow.parquet as pq
folder = pathlib.Path(sys.argv[1])
folder.mkdir(parents=True)
midnight = datetime.datetime(2023, 1, 1)
for hour in range(24):
    at = [midnight + datetime.timedelta(hours=hour, minutes=i) for i in range(10)]
    table = pa.table({
        "meter": pa.array([hour * 100 + i for i in range(10)], pa.int64()),
        "read_at": pa.array(at, pa.timestamp("us")),
        "kwh": pa.array([i / 4 for i in range(10)], pa.float64()),
    })
    pq.write_table(table, folder / f"{hour:02}.parquet")
PY
cat >"$datasets_dir/datasets.toml" <<'TOML'
[[dataset]]
name = "meters"
table = "energy.meters"
source = "meters"
files = "%Y-%m-%d/%H.parquet"
partition_column = "read_at"
columns = [
    { name = "meter", type = "bigint", not_null = true },
    { name = "read_at", type = "timestamp", not_null = true },
    { name = "kwh", type = "double precision" },
]
TOML

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
# With a token, as a deployment would run: the UI test uses the Authorize button and
# schemathesis checks that POSTs without it are refused.
token="e2e-$(python3 -c 'import secrets; print(secrets.token_hex(16))')"
DATABASE_URL="$database_url" DATA_DIR="$data_dir" BIND="127.0.0.1:$port" API_TOKEN="$token" \
    DATASETS_FILE="$datasets_dir/datasets.toml" WATCH=off WORKERS=2 HEARTBEAT_MS=200 LOG_FORMAT=json RUST_LOG=warn target/debug/api >target/e2e-api.log 2>&1 &
api_pid=$!
wait_until_ready "$api_pid" "$base" target/e2e-api.log

# Every event from here on, for its first id: the instance's, to replay them (step 2).
curl -sN -m 600 "$base/events" >target/e2e-events.txt 2>/dev/null &
events_pid=$!
echo "==> Swagger UI in headless Chromium"
(cd api/tests/e2e && API_TOKEN="$token" DATASET=meters node swagger.mjs "$base" ../../../target/swagger-e2e.png)

echo "==> schemathesis against $base/openapi.json"
# positive_data_acceptance is left out: a valid date without source files is a documented
# 422, not a 2xx. Every other check runs.
target/e2e-venv/bin/schemathesis --config-file api/tests/e2e/schemathesis.toml \
    run "$base/openapi.json" -H "Authorization: Bearer $token" \
    --checks all --exclude-checks positive_data_acceptance \
    --max-examples 50 --seed 1 --workers 2 --warnings off \
    --report junit --report-dir target/schemathesis
kill "$events_pid" 2>/dev/null || true
first_id=$(sed -n 's/^id: //p' target/e2e-events.txt | head -n 1)
[[ -n $first_id ]] || { echo "GET /events sent no event during the Swagger UI's load" >&2; exit 1; }
echo "==> schemathesis on GET /events, replaying every event after ${first_id%.*}.0"
target/e2e-venv/bin/schemathesis --config-file api/tests/e2e/schemathesis.toml \
    run "$base/openapi.json" --include-path /events -H "Last-Event-ID: ${first_id%.*}.0" \
    --checks all --max-examples 5 --seed 1 --warnings off
echo "==> schemathesis against an instance without a token (no Authorization header)"
# Its own database and an empty data directory: what it accepts, no worker loads.
psql "$admin_url" -qc "CREATE DATABASE ${database}_open" >/dev/null
open_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
DATABASE_URL="${admin_url%/*}/${database}_open" DATA_DIR="$empty_dir" BIND="127.0.0.1:$open_port" \
    WORKERS=0 WATCH=off LOG_FORMAT=json RUST_LOG=warn target/debug/api >target/e2e-api-open.log 2>&1 &
open_pid=$!
wait_until_ready "$open_pid" "http://127.0.0.1:$open_port" target/e2e-api-open.log
target/e2e-venv/bin/schemathesis --config-file api/tests/e2e/schemathesis.toml \
    run "http://127.0.0.1:$open_port/openapi.json" \
    --checks all --exclude-checks positive_data_acceptance \
    --max-examples 30 --seed 2 --workers 2 --warnings off \
    --report junit --report-dir target/schemathesis-open
for log in target/e2e-api.log target/e2e-api-open.log; do
    if grep -qE '"status": ?5[0-9][0-9]|panicked' "$log"; then
        echo "the API logged a server error or a panic during the run ($log):" >&2
        grep -E '"status": ?5[0-9][0-9]|panicked' "$log" >&2
        exit 1
    fi
done

echo "==> the dashboard in headless Chromium"
# A failed day (a corrupt minute), a day whose first load is held at its swap (attaching a
# new day to dwh.data_sample waits for this lock on the parent alone; reloading a loaded
# day does not), and 2023-01-04 without files; 2023-01-01 is loaded.
post() { curl -fsS -X POST -H "Authorization: Bearer $token" "$base/jobs?$1" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])'; }
status_of() { curl -fsS "$base/jobs/$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])'; }
target/debug/generator --from "2023-01-03 00:00" --to "2023-01-03 00:01" --out "$data_dir" >/dev/null
printf 'not parquet' >"$data_dir/2023-01-03 00:02:00.parquet"
failed_id=$(post "date=2023-01-03&allow_partial=true")
target/debug/generator --date 2023-01-05 --out "$data_dir" >/dev/null
psql -q "$database_url" -c "BEGIN" -c "LOCK TABLE ONLY dwh.data_sample IN SHARE MODE" \
    -c "SELECT pg_sleep(900)" >/dev/null 2>&1 &
lock_pid=$!
held_id=$(post "date=2023-01-05")
for _ in $(seq 1 120); do
    [[ $(status_of "$failed_id") == failed && $(status_of "$held_id") == running ]] && break
    sleep 0.5
done
(cd api/tests/e2e && API_TOKEN="$token" node dashboard.mjs "$base" 2023-01-01 2023-01-05 2023-01-03 2023-01-04) \
    || { kill "$lock_pid" 2>/dev/null; echo "the dashboard check failed (target/dashboard-failure.png)" >&2; exit 1; }
kill "$lock_pid" 2>/dev/null || true
wait "$lock_pid" 2>/dev/null || true
(cd api/tests/e2e && API_TOKEN="$token" node datasets.mjs "$base" meters 2023-01-01) \
    || { echo "the datasets' dashboard check failed (target/dashboard-datasets-failure.png)" >&2; exit 1; }

# The server this script may stop and start: the embedded one the test command started,
# or the local Debian cluster.
source scripts/postgres.sh
pg_version=$(ls /etc/postgresql 2>/dev/null | sort -n | tail -n 1)
if [[ -n "${EMBEDDED_PG_STARTED:-}" ]]; then
    stop_pg() { embedded_pg_stop "$EMBEDDED_PG_STARTED"; }
    start_pg() { embedded_pg_start "$EMBEDDED_PG_STARTED"; }
elif [[ "$admin_url" == *@127.0.0.1:5432/* && -n "$pg_version" ]] && command -v pg_ctlcluster >/dev/null; then
    stop_pg() { pg_ctlcluster --skip-systemctl-redirect "$pg_version" main stop -m fast; }
    start_pg() { pg_ctlcluster --skip-systemctl-redirect "$pg_version" main start; }
else
    # Outside CI a developer may point the suite at another server; CI must run it all.
    if [[ -n "${CI:-}" ]]; then
        echo "the PostgreSQL outage check cannot run here (DATABASE_URL is neither the embedded server nor the local cluster, or pg_ctlcluster is missing); CI runs every check" >&2
        exit 1
    fi
    echo "==> skipping the PostgreSQL outage check (not a server this script started or may stop)"
    exit 0
fi
echo "==> PostgreSQL stopped mid-load"
target/debug/generator --date 2023-01-02 --out "$data_dir" >/dev/null
job() { curl -fsS "$base/jobs/$1" | python3 -c "import json,sys; j=json.load(sys.stdin); print(j['status'], j['attempt'], j['progress']['files_done'])"; }
id=$(curl -fsS -X POST -H "Authorization: Bearer $token" "$base/jobs?date=2023-01-02" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
# Wait (600 polls, about a minute) until a heartbeat reports the load well under way; fail,
# never hang, if the job ends or stalls first.
for _ in $(seq 1 600); do
    read -r status attempt done < <(job "$id")
    [[ $status == running && $done -ge 200 ]] && break
    [[ $status == queued || $status == running ]] \
        || { echo "job $id ended ($status) before PostgreSQL could be stopped mid-load" >&2; exit 1; }
    sleep 0.05
done
[[ $status == running && $done -ge 200 ]] \
    || { echo "job $id did not get under way in time ($status, $done files)" >&2; exit 1; }
echo "    job $id running, $done files copied: stopping PostgreSQL"
stop_pg
curl -fsS "$base/healthz" >/dev/null || { echo "the API died with the database" >&2; exit 1; }
ready=$(curl -s -o /dev/null -w '%{http_code}' "$base/readyz")
[[ $ready == 503 ]] || { echo "/readyz answered $ready during the outage, expected 503" >&2; exit 1; }
echo "    /healthz 200, /readyz 503 during the outage; starting PostgreSQL"
sleep 2
start_pg
for _ in $(seq 1 60); do
    [[ $(curl -s -o /dev/null -w '%{http_code}' "$base/readyz") == 200 ]] && break
    sleep 0.5
done
[[ $(curl -s -o /dev/null -w '%{http_code}' "$base/readyz") == 200 ]] || { echo "/readyz did not recover" >&2; exit 1; }
echo "    /readyz recovered by itself"
for _ in $(seq 1 240); do
    read -r status attempt done < <(job "$id")
    [[ $status == queued || $status == running ]] || break
    sleep 0.5
done
rows=$(psql "$database_url" -Atc "SELECT count(*) FROM dwh.data_sample WHERE create_at >= '2023-01-02' AND create_at < '2023-01-03'")
leftovers=$(psql "$database_url" -Atc "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname IN ('dwh', 'dwh_staging') AND c.relkind = 'r' AND NOT c.relispartition AND c.relname <> 'day_loads'")
echo "    job $status after $attempt attempts; day 2023-01-02 holds $rows rows; $leftovers staging tables left"
[[ $status == succeeded && $attempt -ge 2 && $rows == 2756160 && $leftovers == 0 ]] \
    || { echo "the outage was not survived cleanly" >&2; tail -20 target/e2e-api.log >&2; exit 1; }
