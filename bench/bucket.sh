#!/usr/bin/env bash
# One day (1,440 files, 2,756,160 rows) replaced from a bucket against the same day
# replaced from local files, interleaved in the same run, medians and peak RSS reported.
# The bucket is s3s-fs on loopback (a real S3-compatible server from crates.io, installed
# by scripts/install-test-tools.sh), on this same machine: its CPU (checking signatures,
# reading its files, hashing) competes with the loader and PostgreSQL for the 2 cores,
# which a real object store would not.
#
#   bench/bucket.sh            # 7 rounds
#   ROUNDS=9 bench/bucket.sh
#
# Before every timed run: CHECKPOINT and sync (untimed); the local files and the
# bucket's files are in the page cache. Each figure is the loader process's wall time,
# start-up included.
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=${ROUNDS:-7}
day=2023-01-01
data=${BENCH_DATA_DIR:-/tmp/dwh-bench-data}
root=$(mktemp -d)
db=dwh_bench_bucket
admin_url=${ADMIN_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$db"
s3_pid=""
cleanup() {
    [[ -n "$s3_pid" ]] && kill "$s3_pid" 2>/dev/null || true
    rm -rf "$root"
}
trap cleanup EXIT

cargo build --release --locked -p generator -p loader >/dev/null 2>&1
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir "$root/bench"
s3s-fs --access-key bench-access --secret-key bench-secret-key --host 127.0.0.1 --port "$port" "$root" \
    >/dev/null 2>&1 &
s3_pid=$!
export AWS_ACCESS_KEY_ID=bench-access AWS_SECRET_ACCESS_KEY=bench-secret-key \
    AWS_ENDPOINT_URL="http://127.0.0.1:$port" AWS_ALLOW_HTTP=true AWS_REGION=us-east-1
sleep 1
bucket=s3://bench/january
target/release/generator --out "$data" --date "$day" >/dev/null 2>&1
target/release/generator --out "$bucket" --date "$day" >/dev/null 2>&1
psql -q "$admin_url" -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null 2>&1
target/release/loader migrate >/dev/null
target/release/loader load --date "$day" --data-dir "$data" >/dev/null
cat "$data/$day "*.parquet "$root/bench/january/"* >/dev/null 2>&1 || true
q() { psql -qAt "$DATABASE_URL" -c "$1"; }

local_s=() local_rss=() local_cpu=() bucket_s=() bucket_rss=() bucket_cpu=() server_cpu=()
server_ticks() { awk '{print $14 + $15}' "/proc/$s3_pid/stat"; }
timed() { # source, array name prefix
    q "CHECKPOINT"; sync
    local before; before=$(server_ticks)
    /usr/bin/time -f '%e %M %U %S' -o /tmp/dwh-bench-time \
        target/release/loader load --date "$day" --data-dir "$1" >/dev/null
    read -r seconds rss_kib user sys </tmp/dwh-bench-time
    local -n times=${2}_s peaks=${2}_rss cpu=${2}_cpu
    times+=("$seconds"); peaks+=("$rss_kib"); cpu+=("$(echo "$user + $sys" | bc)")
    [[ $2 == bucket ]] && server_cpu+=("$(echo "($(server_ticks) - $before) / $(getconf CLK_TCK)" | bc -l)")
    return 0
}
for ((r = 0; r < rounds; r++)); do
    if ((r % 2 == 0)); then
        timed "$data" local; timed "$bucket" bucket
    else
        timed "$bucket" bucket; timed "$data" local
    fi
done
rows=$(q "SELECT count(*) FROM dwh.data_sample WHERE create_at >= '$day' AND create_at < date '$day' + 1")
[[ "$rows" == 2756160 ]] || { echo "row check failed: $rows" >&2; exit 1; }

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
peak() { printf '%s\n' "$@" | sort -n | tail -1; }
ml=$(median "${local_s[@]}"); mb=$(median "${bucket_s[@]}")
echo "rounds: $rounds; PostgreSQL $(q "SHOW server_version"); s3s-fs $(s3s-fs --version | awk '{print $2}') on loopback"
echo "from local files: ${local_s[*]} s -> median $ml s, peak RSS $(($(peak "${local_rss[@]}") / 1024)) MiB, loader CPU median $(median "${local_cpu[@]}") s"
echo "from the bucket:  ${bucket_s[*]} s -> median $mb s, peak RSS $(($(peak "${bucket_rss[@]}") / 1024)) MiB, loader CPU median $(median "${bucket_cpu[@]}") s"
printf 'the S3 server on the same 2 cores: median %.2f CPU-s per bucket load\n' "$(median "${server_cpu[@]}")"
awk -v b="$mb" -v l="$ml" 'BEGIN { printf "ratio (bucket / local): %.2f\n", b/l }'
