#!/usr/bin/env bash
# One-day replace (1,440 files, 2,756,160 rows) against the server's own binary COPY of the
# same rows from a file into a plain table, interleaved in the same run, medians reported.
#
#   bench/loader.sh            # 7 rounds
#   ROUNDS=9 bench/loader.sh
#   LOADER_SOCKET=/var/run/postgresql bench/loader.sh   # the loader over a Unix socket
#   LOADER_B=/tmp/loader-old bench/loader.sh            # A/B: another loader binary too,
#                                                       # interleaved in the same rounds, on
#                                                       # a database it migrated itself
#
# Before every timed run: TRUNCATE of the baseline table, CHECKPOINT and sync (all untimed),
# Parquet files already in the page cache. Our figure is the loader process's wall time,
# start-up included, as a user waits for it; the baseline's is psql's wall time around the
# COPY. The loader runs with --timings: the medians of its phases say where that time goes
# (start-up, files and footers, lock and staging, copy, audit, swap, after the swap), and
# the rest of the wall time is the process's own exit.
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=${ROUNDS:-7}
day=2023-01-01
data=${BENCH_DATA_DIR:-/tmp/dwh-bench-data}
db=dwh_bench
admin_url=${ADMIN_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$db"
# The timed loader runs may connect over a Unix socket (same machine as the server).
loader_url=$DATABASE_URL
[[ -n "${LOADER_SOCKET:-}" ]] && loader_url="postgres://postgres@localhost/$db?host=$LOADER_SOCKET"
bin_file=/tmp/dwh-bench-day.bin
loader_args=(${LOADER_ARGS:-})

cargo build --release --locked -p generator -p loader >/dev/null 2>&1
target/release/generator --out "$data" --date "$day" >/dev/null 2>&1
psql -q "$admin_url" -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null 2>&1
target/release/loader migrate >/dev/null
target/release/loader load --date "$day" --data-dir "$data" >/dev/null
q() { psql -qAt "$DATABASE_URL" -c "$1"; }
q "COPY (SELECT * FROM dwh.data_sample WHERE create_at >= '$day' AND create_at < date '$day' + 1) TO '$bin_file' (FORMAT binary)"
q "CREATE TABLE public.dwh_bench (LIKE dwh.data_sample)"
cat "$data/$day "*.parquet >/dev/null
if [[ -n "${LOADER_B:-}" ]]; then
    # The other binary may know other migrations: it gets a database of its own, on the
    # same server, migrated and loaded by itself.
    b_url="postgres://postgres@127.0.0.1:5432/${db}_b"
    [[ -n "${LOADER_SOCKET:-}" ]] && b_url="postgres://postgres@localhost/${db}_b?host=$LOADER_SOCKET"
    psql -q "$admin_url" -c "DROP DATABASE IF EXISTS ${db}_b" -c "CREATE DATABASE ${db}_b" >/dev/null 2>&1
    DATABASE_URL="$b_url" "$LOADER_B" migrate >/dev/null
    DATABASE_URL="$b_url" "$LOADER_B" load --date "$day" --data-dir "$data" >/dev/null
fi

now() { date +%s.%N; }
ours=() base=() rss=() other=() timings=()
run_baseline() {
    q "TRUNCATE public.dwh_bench"; q "CHECKPOINT"; sync
    local t0; t0=$(now)
    q "COPY public.dwh_bench FROM '$bin_file' (FORMAT binary)"
    base+=("$(echo "$(now) - $t0" | bc)")
}
run_ours() {
    q "CHECKPOINT"; sync
    /usr/bin/time -f '%e %M' -o /tmp/dwh-bench-time \
        env DATABASE_URL="$loader_url" \
        target/release/loader load --date "$day" --data-dir "$data" --timings "${loader_args[@]}" \
        >/tmp/dwh-bench-out
    read -r seconds rss_kib </tmp/dwh-bench-time
    ours+=("$seconds"); rss+=("$rss_kib")
    timings+=("$(sed -n 's/^  timings (ms): //p' /tmp/dwh-bench-out)")
}
run_other() {
    q "CHECKPOINT"; sync
    local t0; t0=$(now)
    env DATABASE_URL="$b_url" "$LOADER_B" load --date "$day" --data-dir "$data" >/dev/null
    other+=("$(echo "$(now) - $t0" | bc)")
}
for ((r = 0; r < rounds; r++)); do
    if ((r % 2 == 0)); then run_baseline; run_ours; else run_ours; run_baseline; fi
    [[ -n "${LOADER_B:-}" ]] && run_other
done
rows=$(q "SELECT count(*) FROM dwh.data_sample WHERE create_at >= '$day' AND create_at < date '$day' + 1")
[[ "$rows" == 2756160 ]] || { echo "row check failed: $rows" >&2; exit 1; }

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
mo=$(median "${ours[@]}"); mb=$(median "${base[@]}"); peak=$(printf '%s\n' "${rss[@]}" | sort -n | tail -1)
echo "rounds: $rounds; loader args: ${loader_args[*]:-(defaults)}; PostgreSQL $(q "SHOW server_version"), max_wal_size $(q "SHOW max_wal_size")"
echo "baseline COPY FROM file: ${base[*]} s -> median $mb s"
echo "loader replace:          ${ours[*]} s -> median $mo s, peak RSS $((peak / 1024)) MiB"
awk -v o="$mo" -v b="$mb" 'BEGIN { printf "ratio (loader / baseline): %.2f; loader %.0f rows/s\n", o/b, 2756160/o }'
# Each phase's median over the rounds, in ms ("start-up 4, files and footers 36, …").
printf '%s\n' "${timings[@]}" | tr ',' '\n' | sed -E 's/^ *//; s/ ([0-9]+)$/\t\1/' | sort -t$'\t' -k1,1 -k2,2n |
    awk -F'\t' '{ v[$1] = v[$1] " " $2; n[$1]++ }
        END { printf "loader phases (medians, ms):"; for (k in v) { split(substr(v[k], 2), a, " ");
              m = n[k] % 2 ? a[(n[k] + 1) / 2] : (a[n[k] / 2] + a[n[k] / 2 + 1]) / 2; printf " %s %s;", k, m }
              print "" }'
if [[ -n "${LOADER_B:-}" ]]; then
    mx=$(median "${other[@]}")
    echo "$LOADER_B:   ${other[*]} s -> median $mx s"
    awk -v x="$mx" -v b="$mb" -v o="$mo" 'BEGIN { printf "ratio (B / baseline): %.2f; loader / B: %.2f\n", x/b, o/x }'
fi
rm -f "$bin_file"
