#!/usr/bin/env bash
# One day (1,440 files, 2,756,160 rows) replaced from a bucket against the same day
# replaced from local files, interleaved in the same run, medians and peak RSS reported.
# The bucket is on loopback, served by a real S3-compatible server from crates.io on this
# same machine: its CPU (checking signatures, reading its files) competes with the loader
# and PostgreSQL for the 2 cores, which a real object store would not.
#
#   bench/bucket.sh                 # 7 rounds, s3s-fs (installed by scripts/install-test-tools.sh)
#   ROUNDS=9 bench/bucket.sh
#   SERVER=garage bench/bucket.sh   # Garage, a single node; needs `garage` on the PATH:
#                                   # cargo install garage --version 2.5.0 --locked
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
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port=$(free_port)

# s3s-fs serves the directory $root; bucket "bench" is its subdirectory.
start_s3s_fs() {
    mkdir "$root/bench"
    s3s-fs --access-key bench-access --secret-key bench-secret-key --host 127.0.0.1 --port "$port" \
        "$root" >/dev/null 2>&1 &
    s3_pid=$!
    export AWS_ACCESS_KEY_ID=bench-access AWS_SECRET_ACCESS_KEY=bench-secret-key AWS_REGION=us-east-1
    sleep 1
}

# Garage, one node holding one copy, no compression, logging warnings only (at its
# default level it logs every request); bucket "bench" and a key imported for it.
start_garage() {
    local config="$root/garage.toml" rpc="127.0.0.1:$(free_port)"
    cat >"$config" <<TOML
metadata_dir = "$root/meta"
data_dir = "$root/data"
db_engine = "sqlite"
replication_factor = 1
compression_level = "none"
rpc_bind_addr = "$rpc"
rpc_public_addr = "$rpc"
rpc_secret = "$(openssl rand -hex 32)"
[s3_api]
s3_region = "garage"
api_bind_addr = "127.0.0.1:$port"
TOML
    RUST_LOG=warn garage -c "$config" server >"$root/garage.log" 2>&1 &
    s3_pid=$!
    local node=""
    for _ in $(seq 50); do
        node=$(garage -c "$config" status 2>/dev/null | awk '/^[0-9a-f]{16} / {print $1; exit}') || true
        [[ -n "$node" ]] && break
        sleep 0.2
    done
    garage -c "$config" layout assign -z dc1 -c 10G "$node" >/dev/null
    garage -c "$config" layout apply --version 1 >/dev/null
    garage -c "$config" bucket create bench >/dev/null
    local key_id=GK$(openssl rand -hex 12) secret=$(openssl rand -hex 32)
    garage -c "$config" key import --yes -n bench "$key_id" "$secret" >/dev/null
    garage -c "$config" bucket allow --read --write bench --key bench >/dev/null
    export AWS_ACCESS_KEY_ID=$key_id AWS_SECRET_ACCESS_KEY=$secret AWS_REGION=garage
}

server=${SERVER:-s3s-fs}
case "$server" in
    s3s-fs) start_s3s_fs; server_version=$(s3s-fs --version | awk '{print $2}') ;;
    garage) start_garage; server_version=$(garage --version | awk '{print $2}') ;;
    *) echo "SERVER must be s3s-fs or garage, not $server" >&2; exit 2 ;;
esac
export AWS_ENDPOINT_URL="http://127.0.0.1:$port" AWS_ALLOW_HTTP=true
bucket=s3://bench/january
target/release/generator --out "$data" --date "$day" >/dev/null 2>&1
target/release/generator --out "$bucket" --date "$day" >/dev/null 2>&1
psql -q "$admin_url" -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null 2>&1
target/release/loader migrate >/dev/null
target/release/loader load --date "$day" --data-dir "$data" >/dev/null
cat "$data/$day "*.parquet >/dev/null
find "$root" -type f -exec cat {} + >/dev/null 2>&1 || true # the bucket's files
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
echo "rounds: $rounds; PostgreSQL $(q "SHOW server_version"); $server $server_version on loopback"
echo "from local files: ${local_s[*]} s -> median $ml s, peak RSS $(($(peak "${local_rss[@]}") / 1024)) MiB, loader CPU median $(median "${local_cpu[@]}") s"
echo "from the bucket:  ${bucket_s[*]} s -> median $mb s, peak RSS $(($(peak "${bucket_rss[@]}") / 1024)) MiB, loader CPU median $(median "${bucket_cpu[@]}") s"
printf 'the S3 server on the same 2 cores: median %.2f CPU-s per bucket load\n' "$(median "${server_cpu[@]}")"
awk -v b="$mb" -v l="$ml" 'BEGIN { printf "ratio (bucket / local): %.2f\n", b/l }'
