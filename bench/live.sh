#!/usr/bin/env bash
# Pipeline mode, measured (release build, one instance, LIVE=on):
#
# 1. Live latency: `generator --live --speed 60` writes three hours of data (180 minute
#    files, one a second) into an empty directory. A minute's latency is from its file's
#    rename into place (the file's ctime, which the rename sets) to the commit of its
#    append (the ledger's loaded_at, stamped by the last statement of the transaction
#    that appends its rows; the COMMIT is all that follows). Prints p50, p99 and max.
# 2. Idle cost: the API's CPU time (utime + stime from /proc) over IDLE_SECS with nothing
#    arriving, watching a directory of the whole month (43,201 files, one listing every
#    RESCAN_SECS = 60 s), against the same API with WATCH=off, in interleaved rounds.
#    SETTLE_SECS is set very high so that no day is loaded meanwhile.
#
#   bench/live.sh                       # 7 rounds of 60 s each
#   ROUNDS=3 IDLE_SECS=30 bench/live.sh
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=${ROUNDS:-7}
idle_secs=${IDLE_SECS:-60}
month=${BENCH_MONTH_DIR:-/tmp/dwh-bench-month}
live_dir=$(mktemp -d)
db=dwh_bench_live
admin_url=${ADMIN_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$db"
port=18082
base="http://127.0.0.1:$port"
api_pid=""
stop_api() {
    [[ -n "$api_pid" ]] && kill "$api_pid" 2>/dev/null && wait "$api_pid" 2>/dev/null || true
    api_pid=""
}
trap 'stop_api; rm -rf "$live_dir"; psql -q "$admin_url" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1' EXIT
q() { psql -qAt "$DATABASE_URL" -c "$1"; }
start_api() { # DATA_DIR, then extra variables
    local dir=$1
    shift
    env DATA_DIR="$dir" BIND="127.0.0.1:$port" WORKERS=1 LOG_FORMAT=json "$@" \
        target/release/api >>/tmp/dwh-bench-live.log 2>&1 &
    api_pid=$!
    until curl -fsS "$base/readyz" >/dev/null 2>&1; do sleep 0.2; done
}

cargo build --release --locked -p generator -p api >/dev/null 2>&1
psql -q "$admin_url" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db" >/dev/null
: >/tmp/dwh-bench-live.log

echo "== live latency: 180 minutes at speed 60"
start_api "$live_dir" LIVE=on
target/release/generator --live --speed 60 --from "2023-01-02 00:00" --to "2023-01-02 02:59" \
    --out "$live_dir" >/dev/null 2>&1
sleep 3
q "SELECT name, extract(epoch FROM loaded_at) FROM ops.minute_files
   WHERE day = '2023-01-02' AND loaded_by = 'live' ORDER BY minute" |
    python3 -c '
import os, statistics, sys
dir = sys.argv[1]
lat = []
for line in sys.stdin:
    name, committed = line.rstrip("\n").split("|")
    renamed = os.stat(os.path.join(dir, name)).st_ctime_ns / 1e9
    lat.append((float(committed) - renamed) * 1000)
lat.sort()
p = lambda q: lat[min(len(lat) - 1, int(round(q * (len(lat) - 1))))]
print(f"minutes {len(lat)} of 180; latency ms: p50 {p(0.5):.1f}, p99 {p(0.99):.1f}, max {lat[-1]:.1f}")
' "$live_dir"
stop_api

echo "== idle cost: the month's directory, WATCH=on vs WATCH=off, $rounds rounds of ${idle_secs} s"
target/release/generator --out "$month" >/dev/null 2>&1   # keeps files already there
cpu_ticks() { awk '{print $14 + $15}' "/proc/$api_pid/stat"; }
ticks_per_sec=$(getconf CLK_TCK)
on=()
off=()
for round in $(seq 1 "$rounds"); do
    for watch in on off; do
        start_api "$month" WATCH="$watch" SETTLE_SECS=1000000000
        if [[ $watch == on ]]; then # until the ledger holds every file (fingerprinted once)
            until [[ $(q "SELECT count(*) FROM ops.minute_files") == 43201 ]]; do sleep 1; done
            sleep 2
        fi
        before=$(cpu_ticks)
        sleep "$idle_secs"
        after=$(cpu_ticks)
        stop_api
        pct=$(python3 -c "print(f'{($after - $before) / $ticks_per_sec / $idle_secs * 100:.2f}')")
        echo "round $round WATCH=$watch: ${pct} % of one core"
        if [[ $watch == on ]]; then on+=("$pct"); else off+=("$pct"); fi
    done
done
python3 -c '
import statistics, sys
on, off = (list(map(float, s.split())) for s in sys.argv[1:3])
print(f"median CPU while idle: WATCH=on {statistics.median(on):.2f} %, WATCH=off {statistics.median(off):.2f} % of one core")
' "${on[*]}" "${off[*]}"
