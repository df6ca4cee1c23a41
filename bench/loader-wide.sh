#!/usr/bin/env bash
# A declared dataset of 20 columns (bench/wide_day.py: 24 hourly files, 2,100,000 rows, every
# mapped type), its day replaced by `loader load --dataset wide` against the server's own
# binary COPY of the same rows from a file into a plain table, interleaved in the same run,
# medians reported. Measured as bench/loader.sh measures the sample: the loader process's
# whole wall time, a fresh connection, TRUNCATE (baseline) / CHECKPOINT / sync untimed
# before every run, the Parquet files in the page cache.
#
#   bench/loader-wide.sh          # 7 rounds
#   ROUNDS=9 bench/loader-wide.sh
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=${ROUNDS:-7}
day=2024-03-09
data=${BENCH_WIDE_DIR:-/tmp/dwh-bench-wide}
db=dwh_bench_wide
admin_url=${ADMIN_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$db"
bin_file=/tmp/dwh-bench-wide.bin
python=target/e2e-venv/bin/python
[[ -x $python ]] || scripts/install-test-tools.sh >/dev/null

cargo build --release --locked -p generator -p loader >/dev/null 2>&1
if [[ ! -d "$data/trips" ]]; then
    "$python" bench/wide_day.py "$data/trips" "$day" >/dev/null
fi
cat >"$data/datasets.toml" <<TOML
[[dataset]]
name = "wide"
table = "bench.trips"
source = "trips"
files = "%Y/%m/%d/%H.parquet"
partition_column = "pickup_at"
TOML
loader=(target/release/loader --datasets "$data/datasets.toml")
psql -q "$admin_url" -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null 2>&1
"${loader[@]}" migrate >/dev/null
"${loader[@]}" load --dataset wide --date "$day" >/dev/null
q() { psql -qAt "$DATABASE_URL" -c "$1"; }
q "COPY (SELECT * FROM bench.trips) TO '$bin_file' (FORMAT binary)"
q "CREATE TABLE public.wide_bench (LIKE bench.trips)"
find "$data/trips" -name '*.parquet' -exec cat {} + >/dev/null

now() { date +%s.%N; }
ours=() base=()
run_baseline() {
    q "TRUNCATE public.wide_bench"; q "CHECKPOINT"; sync
    local t0; t0=$(now)
    q "COPY public.wide_bench FROM '$bin_file' (FORMAT binary)"
    base+=("$(echo "$(now) - $t0" | bc)")
}
run_ours() {
    q "CHECKPOINT"; sync
    local t0; t0=$(now)
    "${loader[@]}" load --dataset wide --date "$day" >/dev/null
    ours+=("$(echo "$(now) - $t0" | bc)")
}
for ((r = 0; r < rounds; r++)); do
    if ((r % 2 == 0)); then run_baseline; run_ours; else run_ours; run_baseline; fi
done
rows=$(q "SELECT count(*) FROM bench.trips")
same=$(q "SELECT count(*) FROM (SELECT * FROM bench.trips EXCEPT ALL SELECT * FROM public.wide_bench) d")
[[ "$rows" == 2100000 && "$same" == 0 ]] || { echo "row check failed: $rows rows, $same differ" >&2; exit 1; }

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
mo=$(median "${ours[@]}"); mb=$(median "${base[@]}")
echo "rounds: $rounds; 20 columns, 2,100,000 rows, 24 files; PostgreSQL $(q "SHOW server_version"), max_wal_size $(q "SHOW max_wal_size")"
echo "baseline COPY FROM file: ${base[*]} s -> median $mb s"
echo "loader replace:          ${ours[*]} s -> median $mo s"
awk -v o="$mo" -v b="$mb" 'BEGIN { printf "ratio (loader / baseline): %.2f; loader %.0f rows/s\n", o/b, 2100000/o }'
rm -f "$bin_file"
