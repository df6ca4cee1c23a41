#!/usr/bin/env bash
# The whole reference month (31 days, 43,201 files, 82.7 M rows) loaded day by day with
# one `loader load --from 2023-01-01 --to 2023-01-31`, into a fresh database.
# Baseline in the same run: the server's own binary COPY from files of exactly the month's
# rows — one day's rows 30 times and one minute's rows once (January 31st has only its
# 00:00 file) — into 31 fresh plain tables (the same bytes and I/O pattern as the month,
# without any client). Prints both times, the ratio, rows/s and the loader's peak RSS.
# Needs ~7 GB for the files, ~15 GB for the table and ~15 GB more for the baseline.
#
#   bench/loader-month.sh            # one `loader load --from --to` process
#   VIA=api bench/loader-month.sh    # the `api` binary (1 worker): one backfill POST,
#                                    # timed from the POST until the 31st job has ended
set -euo pipefail
cd "$(dirname "$0")/.."

data=${BENCH_DATA_DIR:-/tmp/dwh-bench-data}
db=dwh_bench_month
admin_url=${ADMIN_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$db"

via=${VIA:-loader}
cargo build --release --locked -p generator -p loader -p api >/dev/null 2>&1
target/release/generator --out "$data" >/dev/null 2>&1   # keeps files already there
psql -q "$admin_url" -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null 2>&1
target/release/loader migrate >/dev/null

q() { psql -qAt "$DATABASE_URL" -c "$1"; }
bin_file=/tmp/dwh-bench-day.bin
minute_file=/tmp/dwh-bench-minute.bin
target/release/loader load --date 2023-01-01 --data-dir "$data" >/dev/null
q "COPY (SELECT * FROM dwh.data_sample) TO '$bin_file' (FORMAT binary)"
q "COPY (SELECT * FROM dwh.data_sample WHERE create_at < '2023-01-01 00:01') TO '$minute_file' (FORMAT binary)"
q "TRUNCATE dwh.data_sample; DELETE FROM dwh.day_loads"
q "CHECKPOINT"
t0=$(date +%s.%N)
for i in $(seq 1 31); do
    source=$bin_file; ((i == 31)) && source=$minute_file
    q "CREATE TABLE public.baseline_$i (LIKE dwh.data_sample); COPY public.baseline_$i FROM '$source' (FORMAT binary)"
done
baseline=$(echo "$(date +%s.%N) - $t0" | bc)
baseline_rows=$(for i in $(seq 1 31); do q "SELECT count(*) FROM public.baseline_$i"; done | paste -sd+ | bc)
for i in $(seq 1 31); do q "DROP TABLE public.baseline_$i"; done
rm -f "$bin_file" "$minute_file"
q "CHECKPOINT"

if [[ $via == api ]]; then
    port=18080
    /usr/bin/time -f '%e %M' -o /tmp/dwh-bench-time env DATA_DIR="$data" BIND="127.0.0.1:$port" \
        WORKERS=1 LOG_FORMAT=json WATCH=off target/release/api >/tmp/dwh-bench-month.log 2>&1 &
    time_pid=$!   # /usr/bin/time; the api is its child
    until curl -sf "http://127.0.0.1:$port/readyz" >/dev/null; do sleep 0.2; done
    t0=$(date +%s.%N)
    # allow_partial: the month's last day holds one minute by nature.
    curl -sf -X POST "http://127.0.0.1:$port/jobs?from=2023-01-01&to=2023-01-31&allow_partial=true" >/dev/null
    until [[ $(q "SELECT count(*) FROM ops.jobs WHERE status IN ('succeeded', 'failed', 'cancelled')") == 31 ]]; do
        sleep 0.1
    done
    seconds=$(echo "$(date +%s.%N) - $t0" | bc)
    failed=$(q "SELECT count(*) FROM ops.jobs WHERE status <> 'succeeded'")
    pkill -TERM -P "$time_pid"; wait "$time_pid"
    read -r _ rss_kib </tmp/dwh-bench-time
    [[ $failed == 0 ]] || { echo "$failed jobs did not succeed" >&2; exit 1; }
else
    /usr/bin/time -f '%e %M' -o /tmp/dwh-bench-time \
        target/release/loader load --from 2023-01-01 --to 2023-01-31 --allow-partial --data-dir "$data" >/tmp/dwh-bench-month.log
    read -r seconds rss_kib </tmp/dwh-bench-time
fi
rows=$(psql -qAt "$DATABASE_URL" -c "SELECT sum(rows) FROM dwh.day_loads")
[[ "$rows" == 82686714 && "$baseline_rows" == "$rows" ]] ||
    { echo "row check failed: loader $rows, baseline $baseline_rows" >&2; exit 1; }
echo "PostgreSQL $(q "SHOW server_version"), max_wal_size $(q "SHOW max_wal_size")"
awk -v via="$via" -v s="$seconds" -v b="$baseline" -v r="$rss_kib" -v n="$rows" 'BEGIN {
    printf "baseline (31 x server COPY FROM file): %.1f s\n", b
    printf "%s month: %d rows in %.1f s (%.0f rows/s), peak RSS %.1f MiB; ratio %.2f\n", via, n, s, n/s, r/1024, s/b }'
psql -q "$admin_url" -c "DROP DATABASE $db" >/dev/null 2>&1
