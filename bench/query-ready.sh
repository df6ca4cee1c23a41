#!/usr/bin/env bash
# Query-ready days: what one day (2023-01-01, 2,756,160 rows) costs over its life — its
# load, its first full scan, and VACUUM (FREEZE) — for each way of getting the same rows
# into PostgreSQL. One run, contenders interleaved (the order rotates every round),
# medians.
#
#   bench/query-ready.sh            # 7 rounds
#   ROUNDS=9 bench/query-ready.sh
#
# Contenders:
#   copy          server COPY FROM a pre-encoded binary file into a plain table (the
#                 ceiling; TRUNCATE untimed)
#   copy-freeze   the same with FREEZE, into a table created in the same transaction
#                 (DROP untimed, CREATE timed)
#   loader        `loader load`: the whole atomic replace, process start included
#   loader-plain  the same with --analyze false (what ANALYZE costs)
#   duckdb        DuckDB's postgres extension (PyPI), one thread:
#                 INSERT INTO pg.t SELECT … FROM read_parquet(…) (TRUNCATE untimed; the
#                 time of ATTACH + INSERT, without Python's start)
# Each phase starts after an untimed CHECKPOINT and sync. The scan is serial
# (max_parallel_workers_per_gather = 0) `EXPLAIN (ANALYZE, BUFFERS, TIMING OFF)
# SELECT count(*)` of the day; its time is the execution time, with the pages it dirtied
# and wrote. VACUUM (FREEZE) of the day's table(s) is timed around psql.
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=${ROUNDS:-7}
day=2023-01-01
data=${BENCH_DATA_DIR:-/tmp/dwh-bench-data}
db=dwh_bench_ready
admin_url=${ADMIN_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$db"
bin_file=/tmp/dwh-bench-ready-day.bin
venv=target/bench-venv
contenders=(copy copy-freeze loader loader-plain duckdb)

# What the bench needs, installed on a fresh clone: DuckDB and its postgres extension.
if [[ ! -x $venv/bin/python ]] || ! $venv/bin/python -c 'import duckdb_extension_postgres' 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q duckdb==1.5.5 duckdb-extensions duckdb-extension-postgres==1.5.5
fi
cargo build --release --locked -p generator -p loader >/dev/null 2>&1
target/release/generator --out "$data" --date "$day" >/dev/null 2>&1
psql -q "$admin_url" -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null 2>&1
target/release/loader migrate >/dev/null
target/release/loader load --date "$day" --data-dir "$data" >/dev/null
q() { psql -qAtX "$DATABASE_URL" -c "$1"; }
q "COPY (SELECT * FROM dwh.data_sample WHERE create_at >= '$day' AND create_at < date '$day' + 1) TO '$bin_file' (FORMAT binary)"
for t in copy duckdb; do q "CREATE TABLE public.bench_$t (LIKE dwh.data_sample)"; done
cat "$data/$day "*.parquet >/dev/null
columns="department_name, sensor_serial, create_at, product_name, product_expire"

now() { date +%s.%N; }
settle() { q "CHECKPOINT" >/dev/null; sync; }
# The table a contender's day lives in, for the scan and VACUUM.
table_of() {
    case $1 in
        copy | duckdb) echo "public.bench_$1" ;;
        copy-freeze) echo "public.bench_copy_freeze" ;;
        loader | loader-plain) echo "dwh.data_sample_p${day//-/}" ;;
    esac
}
load() {
    case $1 in
        copy)
            q "TRUNCATE public.bench_copy"; settle
            local t0; t0=$(now)
            q "COPY public.bench_copy FROM '$bin_file' (FORMAT binary)"
            echo "$(now) - $t0" | bc ;;
        copy-freeze)
            q "DROP TABLE IF EXISTS public.bench_copy_freeze"; settle
            local t0; t0=$(now)
            psql -qAtX "$DATABASE_URL" -1 \
                -c "CREATE TABLE public.bench_copy_freeze (LIKE dwh.data_sample)" \
                -c "COPY public.bench_copy_freeze FROM '$bin_file' (FORMAT binary, FREEZE)"
            echo "$(now) - $t0" | bc ;;
        loader | loader-plain)
            local analyze=true; [[ $1 == loader-plain ]] && analyze=false
            settle
            local t0; t0=$(now)
            target/release/loader load --date "$day" --data-dir "$data" --analyze "$analyze" >/dev/null
            echo "$(now) - $t0" | bc ;;
        duckdb)
            q "TRUNCATE public.bench_duckdb"; settle
            "$venv/bin/python" - "$db" "$data/$day *.parquet" "$columns" <<'PY'
import sys, time
import duckdb
from duckdb_extensions import import_extension
db, files, columns = sys.argv[1:]
import_extension("postgres")
con = duckdb.connect()
con.execute("SET threads = 1")
con.execute("LOAD postgres")
t0 = time.perf_counter()
con.execute(f"ATTACH 'host=127.0.0.1 port=5432 user=postgres dbname={db}' AS pg (TYPE postgres)")
con.execute(f"INSERT INTO pg.public.bench_duckdb ({columns}) SELECT {columns} FROM read_parquet('{files}')")
print(time.perf_counter() - t0)
PY
            ;;
    esac
}
# Prints "seconds dirtied written" of the first full scan.
scan() {
    settle
    psql -qAtX "$DATABASE_URL" -c "SET max_parallel_workers_per_gather = 0" \
        -c "EXPLAIN (ANALYZE, BUFFERS, TIMING OFF) SELECT count(*) FROM $(table_of "$1")" |
        awk '/Buffers: shared/ && !b { b = 1
                 for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } }
             /Execution Time/ { ms = $3 }
             END { printf "%.3f %d %d\n", ms / 1000, v["dirtied"], v["written"] }'
}
vacuum() {
    settle
    local t0; t0=$(now)
    q "VACUUM (FREEZE) $(table_of "$1")"
    echo "$(now) - $t0" | bc
}

declare -A loads scans dirtied written vacuums lifetimes
for ((r = 0; r < rounds; r++)); do
    for ((k = 0; k < ${#contenders[@]}; k++)); do
        c=${contenders[$(((k + r) % ${#contenders[@]}))]}
        l=$(load "$c")
        read -r s d w < <(scan "$c")
        v=$(vacuum "$c")
        loads[$c]+="$l " scans[$c]+="$s " dirtied[$c]+="$d " written[$c]+="$w " vacuums[$c]+="$v "
        lifetimes[$c]+="$(echo "$l + $s + $v" | bc) "
    done
done
rows=$(q "SELECT count(*) FROM dwh.data_sample WHERE create_at >= '$day' AND create_at < date '$day' + 1")
for t in bench_copy bench_copy_freeze bench_duckdb; do
    n=$(q "SELECT count(*) FROM public.$t")
    [[ $n == "$rows" ]] || { echo "row check failed: $t has $n rows, the day $rows" >&2; exit 1; }
done
[[ $rows == 2756160 ]] || { echo "row check failed: $rows" >&2; exit 1; }

median() { printf '%s\n' $1 | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
echo "rounds: $rounds; PostgreSQL $(q "SHOW server_version"), shared_buffers $(q "SHOW shared_buffers"), max_wal_size $(q "SHOW max_wal_size"); DuckDB $($venv/bin/python -c 'import duckdb; print(duckdb.__version__)')"
printf '%-13s %8s %8s %9s %9s %8s %9s %10s %10s\n' contender load_s scan_s dirtied written vacuum_s lifetime_s vs_copy vs_duckdb
base_life=$(median "${lifetimes[copy]}"); duck_life=$(median "${lifetimes[duckdb]}")
for c in "${contenders[@]}"; do
    life=$(median "${lifetimes[$c]}")
    printf '%-13s %8.3f %8.3f %9d %9d %8.3f %9.3f %10.2f %10.2f\n' "$c" \
        "$(median "${loads[$c]}")" "$(median "${scans[$c]}")" "$(median "${dirtied[$c]}")" \
        "$(median "${written[$c]}")" "$(median "${vacuums[$c]}")" "$life" \
        "$(echo "$life / $base_life" | bc -l)" "$(echo "$life / $duck_life" | bc -l)"
done
echo "load ratio, loader / copy: $(echo "$(median "${loads[loader]}") / $(median "${loads[copy]}")" | bc -l | cut -c1-5)"
for c in "${contenders[@]}"; do echo "raw $c: load ${loads[$c]}| scan ${scans[$c]}| vacuum ${vacuums[$c]}"; done
rm -f "$bin_file"
