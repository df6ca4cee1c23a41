#!/usr/bin/env bash
# Versions and audits of one day (2023-01-01, 1,440 files, 2,756,160 rows):
#   1. audit overhead: the same replace with the committed audits and with `--audits off`
#      (which also skips counting the audit's facts during the COPY), interleaved in the
#      same run, medians; plus the time of judging the checks after the COPY;
#   2. rollback: the swap's time of each rollback between two versions (seed 0 and
#      seed 1), alternating, medians and max;
#   3. disk: what a kept version takes, next to the current one.
#
#   bench/versions.sh            # 7 rounds
#   ROUNDS=9 bench/versions.sh
#
# Before every timed load: CHECKPOINT and sync (untimed), Parquet files in the page cache.
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=${ROUNDS:-7}
day=2023-01-01
data=${BENCH_DATA_DIR:-/tmp/dwh-bench-data}
other=${BENCH_OTHER_DIR:-/tmp/dwh-bench-data-seed1}
db=dwh_bench_versions
admin_url=${ADMIN_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$db"

cargo build --release --locked -p generator -p loader >/dev/null 2>&1
target/release/generator --out "$data" --date "$day" >/dev/null 2>&1
target/release/generator --out "$other" --date "$day" --seed 1 >/dev/null 2>&1
psql -q "$admin_url" -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null 2>&1
q() { psql -qAt "$DATABASE_URL" -c "$1"; }
target/release/loader migrate >/dev/null
target/release/loader load --date "$day" --data-dir "$data" >/dev/null
cat "$data/$day "*.parquet "$other/$day "*.parquet >/dev/null

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
now() { date +%s.%N; }

# 1. Audit overhead. Both arms keep versions (the default), so they differ by the audit only.
audited=() unaudited=() audit_ms=()
load_timed() { # args: the loader's extra arguments; prints "seconds audit_ms"
    q "CHECKPOINT"; sync
    local t0 out
    t0=$(now)
    out=$(target/release/loader load --date "$day" --data-dir "$data" "$@")
    echo "$(echo "$(now) - $t0" | bc) $(sed -n 's/.*audit \([0-9.]*\) ms.*/\1/p' <<<"$out")"
}
for ((r = 0; r < rounds; r++)); do
    if ((r % 2 == 0)); then order=(on off); else order=(off on); fi
    for arm in "${order[@]}"; do
        if [[ $arm == on ]]; then
            read -r s ms < <(load_timed)
            audited+=("$s"); audit_ms+=("$ms")
        else
            read -r s _ < <(load_timed --audits off)
            unaudited+=("$s")
        fi
    done
done
ma=$(median "${audited[@]}"); mu=$(median "${unaudited[@]}"); mm=$(median "${audit_ms[@]}")
echo "rounds: $rounds; PostgreSQL $(q "SHOW server_version")"
echo "load with audits:    ${audited[*]} s -> median $ma s (judging the checks: ${audit_ms[*]} ms -> median $mm ms)"
echo "load without audits: ${unaudited[*]} s -> median $mu s"
awk -v a="$ma" -v u="$mu" 'BEGIN { printf "audit overhead: %+.1f %% (medians of the two arms)\n", (a / u - 1) * 100 }'

# 2. Rollback between two versions: seed 0 (current now) and seed 1.
target/release/loader load --date "$day" --data-dir "$other" --audits off --shrink-guard 0 >/dev/null
current=$(q "SELECT version FROM dwh.day_loads WHERE day = '$day'")
kept=$(q "SELECT max(version) FROM dwh_history.versions WHERE day = '$day' AND replaced_at IS NOT NULL AND pruned_at IS NULL")
swaps=()
for ((r = 0; r < 2 * rounds; r++)); do
    out=$(target/release/loader rollback --date "$day" --version "$kept")
    swaps+=("$(sed -n 's/.*swap \([0-9.]*\) ms.*/\1/p' <<<"$out")")
    read -r current kept <<<"$kept $current"
done
rows=$(q "SELECT count(*) FROM dwh.data_sample WHERE create_at >= '$day' AND create_at < date '$day' + 1")
echo "rollback swaps: ${swaps[*]} ms -> median $(median "${swaps[@]}") ms, max $(printf '%s\n' "${swaps[@]}" | sort -n | tail -1) ms (day now $rows rows)"

# 3. Disk.
echo "versions (current and kept), on disk:"
target/release/loader versions --date "$day"
q "SELECT 'database: ' || pg_size_pretty(pg_database_size(current_database()))"
