#!/usr/bin/env bash
# Reading the warehouse: four questions people ask of a month of the sample (days 1 to 30,
# 82,684,800 rows), asked of the table with the sample's indexes (its default, or those
# INDEXES lists), of the same table without any, and of DuckDB reading the Parquet files directly (its own threads, the
# page cache warm, its Parquet metadata cache on); and what the indexes cost a day's
# replace. Interleaved, medians of ROUNDS (7):
#   1. one sensor's readings over the month, ordered by time;
#   2. one department's row count per hour of one day;
#   3. the latest reading of each sensor on one day;
#   4. the rows of one day between 10:00 and 10:05.
# A query's time is psql's `\timing` (the round trip, rows sent to the client included)
# and DuckDB's in-process wall time around the query with its rows fetched. The replace is
# `loader load --date` as a whole process, as bench/loader.sh times it, into each
# database in turn.
#
#   bench/reads.sh                                              # the sample's default
#   INDEXES='brin (create_at);hash (sensor_serial)' bench/reads.sh  # others (SAMPLE_INDEXES)
#   KEEP_PLAIN=1 INDEXES=… bench/reads.sh   # the database without indexes of the last run
# Uses databases dwh_reads_indexed and dwh_reads_plain and $DATA (default
# /tmp/dwh-bench-month, generated if missing).
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=${ROUNDS:-7}
data=${DATA:-/tmp/dwh-bench-month}
admin_url=${ADMIN_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
server=${admin_url%/*}
indexes=${INDEXES:-}
[[ -n $indexes ]] || indexes=$(sed -n 's/^pub const SAMPLE_INDEXES: &str = "\(.*\)";/\1/p' loader/src/warehouse/table.rs)
day=2023-01-15
venv=target/e2e-venv
"$venv/bin/python" -c "import duckdb" 2>/dev/null || scripts/install-test-tools.sh

cargo build --release --locked -q --bins
if (($(find "$data" -name '*.parquet' 2>/dev/null | wc -l) < 43201)); then
    echo "generating the month into $data ..." >&2
    target/release/generator --out "$data" >/dev/null 2>&1
fi

# Each database migrated and loaded with days 1 to 30, the indexed one with the sample's
# indexes set to those tried (SAMPLE_INDEXES), the plain one with none; every load of
# each builds its indexes.
indexes_of() { if [[ $1 == dwh_reads_plain ]]; then echo none; else echo "$indexes"; fi; }
prepare() {
    local db=$1
    psql -q "$admin_url" -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null 2>&1
    DATABASE_URL="$server/$db" target/release/loader migrate >/dev/null
    echo "loading days 1 to 30 into $db ..." >&2
    DATABASE_URL="$server/$db" SAMPLE_INDEXES="$(indexes_of "$db")" target/release/loader load \
        --from 2023-01-01 --to 2023-01-30 --data-dir "$data" >/dev/null
    psql -q "$server/$db" -c "VACUUM ANALYZE dwh.data_sample" >/dev/null
}
prepare dwh_reads_indexed
# KEEP_PLAIN=1 keeps the plain database of an earlier run when it holds the month: it is
# the same whatever INDEXES says.
if [[ ${KEEP_PLAIN:-} == 1 ]] \
    && [[ $(psql -qAt "$server/dwh_reads_plain" -c "SELECT count(*) FROM dwh.day_loads" 2>/dev/null) == 30 ]]; then
    echo "keeping dwh_reads_plain" >&2
else
    prepare dwh_reads_plain
fi
# The plain database has no index at all (none declared, none attached by a load).
psql -qAt "$server/dwh_reads_plain" -c "SELECT count(*) FROM pg_indexes WHERE schemaname = 'dwh' AND tablename LIKE 'data_sample%'" \
    | grep -qx 0 || { echo "the plain database has indexes" >&2; exit 1; }

sensor=$(psql -qAt "$server/dwh_reads_plain" -c "SELECT sensor_serial FROM dwh.data_sample WHERE create_at = '$day 12:00' LIMIT 1")
department=$(psql -qAt "$server/dwh_reads_plain" -c "SELECT department_name FROM dwh.data_sample WHERE create_at = '$day 12:00' LIMIT 1")
from_pg="dwh.data_sample"
sql_of() { # query number, the table or relation to read
    local t=$2
    case $1 in
        1) echo "SELECT create_at, department_name, product_name FROM $t WHERE sensor_serial = '$sensor' ORDER BY create_at" ;;
        2) echo "SELECT date_trunc('hour', create_at) AS hour, count(*) FROM $t WHERE department_name = '$department' AND create_at >= '$day' AND create_at < '$day'::date + 1 GROUP BY 1 ORDER BY 1" ;;
        3) echo "SELECT DISTINCT ON (sensor_serial) sensor_serial, create_at, product_name FROM $t WHERE create_at >= '$day' AND create_at < '$day'::date + 1 ORDER BY sensor_serial, create_at DESC" ;;
        4) echo "SELECT * FROM $t WHERE create_at >= '$day 10:00' AND create_at < '$day 10:05'" ;;
    esac
}
# DuckDB reads the month's files for the month's question, the day's files for a day's.
files_of() {
    case $1 in
        1) echo "(SELECT * FROM read_parquet('$data/*.parquet') WHERE create_at < '2023-01-31')" ;;
        *) echo "read_parquet('$data/$day *.parquet')" ;;
    esac
}

results=$(mktemp)
pg_time() { # database, query number → milliseconds
    psql -X -q "$server/$1" -o /dev/null -c '\timing on' -c "$(sql_of "$2" "$from_pg")" 2>&1 \
        | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p'
}
# DuckDB: one process for every round, so that its metadata cache stays warm, as a user's
# session would; it reads "<query> <round>" lines and answers milliseconds.
duck_in=$(mktemp -u); duck_out=$(mktemp -u); mkfifo "$duck_in" "$duck_out"
"$venv/bin/python" - "$duck_in" "$duck_out" <<PY &
import sys, time, duckdb
con = duckdb.connect()
con.execute("SET threads = 2")
con.execute("SET parquet_metadata_cache = true")
queries = {
$(for n in 1 2 3 4; do printf '    %d: """%s""",\n' "$n" "$(sql_of $n "$(files_of $n)")"; done)
}
with open(sys.argv[1]) as requests, open(sys.argv[2], "w") as answers:
    for line in requests:
        n = int(line.split()[0])
        t0 = time.perf_counter()
        con.execute(queries[n]).fetchall()
        answers.write(f"{(time.perf_counter() - t0) * 1000:.1f}\n")
        answers.flush()
PY
duck_pid=$!
exec 3>"$duck_in" 4<"$duck_out"
duck_time() { echo "$1" >&3; local ms; read -r ms <&4; echo "$ms"; }
# One untimed run of each, so that no contestant pays for a cold first read alone.
for n in 1 2 3 4; do pg_time dwh_reads_indexed $n >/dev/null; pg_time dwh_reads_plain $n >/dev/null; duck_time $n >/dev/null; done

for ((r = 0; r < rounds; r++)); do
    for n in 1 2 3 4; do
        case $(((r + n) % 3)) in
            0) order=(indexed plain duckdb) ;;
            1) order=(plain duckdb indexed) ;;
            *) order=(duckdb indexed plain) ;;
        esac
        for who in "${order[@]}"; do
            case $who in
                indexed) ms=$(pg_time dwh_reads_indexed $n) ;;
                plain) ms=$(pg_time dwh_reads_plain $n) ;;
                duckdb) ms=$(duck_time $n) ;;
            esac
            echo "$n $who $ms" >>"$results"
        done
    done
done
exec 3>&- 4<&-
wait "$duck_pid" 2>/dev/null || true
rm -f "$duck_in" "$duck_out"

# A day's replace, with and without the indexes, interleaved: the whole process's seconds,
# then its phases `indexes` and `swap` in milliseconds.
replace_time() {
    psql -q "$server/$1" -c CHECKPOINT >/dev/null; sync
    /usr/bin/time -f '%e' -o /tmp/dwh-reads-time env DATABASE_URL="$server/$1" \
        SAMPLE_INDEXES="$(indexes_of "$1")" target/release/loader load --date "$day" \
        --data-dir "$data" --timings >/tmp/dwh-reads-out
    echo "$(cat /tmp/dwh-reads-time)" \
        "$(sed -n 's/.*, indexes \([0-9]*\),.*, swap \([0-9]*\),.*/\1 \2/p' /tmp/dwh-reads-out)"
}
for ((r = 0; r < rounds; r++)); do
    if ((r % 2 == 0)); then
        echo "replace indexed $(replace_time dwh_reads_indexed)" >>"$results"
        echo "replace plain $(replace_time dwh_reads_plain)" >>"$results"
    else
        echo "replace plain $(replace_time dwh_reads_plain)" >>"$results"
        echo "replace indexed $(replace_time dwh_reads_indexed)" >>"$results"
    fi
done

"$venv/bin/python" - "$results" "$rounds" "$indexes" <<'PY'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
def med(n, who, col=2):
    return statistics.median(float(r[col]) for r in rows if r[0] == n and r[1] == who)
print(f"{sys.argv[2]} interleaved rounds, medians; indexes: {sys.argv[3]}")
print("| query | with indexes | without | DuckDB on the files | without ÷ with | DuckDB ÷ with |")
print("|---|---|---|---|---|---|")
for n in "1234":
    w, p, d = med(n, "indexed"), med(n, "plain"), med(n, "duckdb")
    print(f"| {n} | {w:.1f} ms | {p:.1f} ms | {d:.1f} ms | {p / w:.1f}× | {d / w:.1f}× |")
w, p = med("replace", "indexed"), med("replace", "plain")
i = med("replace", "indexed", 3)
sw, sp = med("replace", "indexed", 4), med("replace", "plain", 4)
print(f"| a day's replace | {w:.2f} s | {p:.2f} s | | cost {100 * (w / p - 1):.0f} % | (building the indexes: {i:.0f} ms) |")
print(f"| its swap | {sw:.0f} ms | {sp:.0f} ms | | | |")
PY
rm -f "$results"
