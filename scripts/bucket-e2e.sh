#!/usr/bin/env bash
# A bucket as the data source, end to end with the real binaries: s3s-fs (a real
# S3-compatible server, from crates.io) on a loopback port with an access key; the
# generator writes a whole day into s3://minutes/january with the standard AWS variables;
# the API, reading that bucket, loads the day on POST /jobs; the day's checksum equals the
# same day loaded by the loader CLI from a directory. A second generator run keeps what
# the bucket holds. Needs PostgreSQL at DATABASE_URL's server (the test command provides it).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/postgres.sh   # free_port
source scripts/api-client.sh

admin_url="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
bucket_db="dwh_bucket_e2e_$$"
dir_db="dwh_bucket_e2e_dir_$$"
root="$(mktemp -d)"
local_dir="$(mktemp -d)"
api_pid=""
s3_pid=""
cleanup() {
    [[ -n "$api_pid" ]] && kill -TERM "$api_pid" 2>/dev/null && wait "$api_pid" 2>/dev/null || true
    [[ -n "$s3_pid" ]] && kill "$s3_pid" 2>/dev/null || true
    for db in "$bucket_db" "$dir_db"; do
        psql "$admin_url" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
    done
    rm -rf "$root" "$local_dir"
}
trap cleanup EXIT
fail() { echo "bucket e2e: $*" >&2; tail -20 target/bucket-e2e-api.log >&2 2>/dev/null; exit 1; }
checksum() {
    psql -qAt "${admin_url%/*}/$1" -c "SELECT count(*) || ' ' || md5(string_agg(md5(t::text), '' ORDER BY md5(t::text)))
        FROM dwh.data_sample t WHERE create_at >= '2023-01-01' AND create_at < '2023-01-02'"
}

# The binaries as the test command builds them: another set of packages would unify
# other features and rebuild shared dependencies for minutes.
cargo test --workspace --locked -q --no-run
s3_port=$(free_port)
mkdir "$root/minutes"
s3s-fs --access-key dwh-e2e-access --secret-key dwh-e2e-secret-key \
    --host 127.0.0.1 --port "$s3_port" "$root" >target/bucket-e2e-s3.log 2>&1 &
s3_pid=$!
export AWS_ACCESS_KEY_ID=dwh-e2e-access AWS_SECRET_ACCESS_KEY=dwh-e2e-secret-key \
    AWS_ENDPOINT_URL="http://127.0.0.1:$s3_port" AWS_ALLOW_HTTP=true AWS_REGION=us-east-1
for _ in $(seq 1 40); do
    (echo >"/dev/tcp/127.0.0.1/$s3_port") 2>/dev/null && break
    sleep 0.25
done

echo "==> generator --out s3://minutes/january for 2023-01-01"
target/debug/generator --date 2023-01-01 --out s3://minutes/january >target/bucket-e2e-generator.log 2>&1 \
    || fail "the generator failed: $(tail -3 target/bucket-e2e-generator.log)"
target/debug/generator --date 2023-01-01 --out s3://minutes/january >>target/bucket-e2e-generator.log 2>&1
grep -q "0 files written, 1440 skipped" target/bucket-e2e-generator.log \
    || fail "a second run did not keep the bucket's files: $(tail -3 target/bucket-e2e-generator.log)"

echo "==> the API loads the day from the bucket"
psql "$admin_url" -qc "CREATE DATABASE $bucket_db" >/dev/null
api_port=$(free_port)
base="http://127.0.0.1:$api_port"
DATABASE_URL="${admin_url%/*}/$bucket_db" DATA_DIR=s3://minutes/january BIND="127.0.0.1:$api_port" \
    LOG_FORMAT=json target/debug/api >target/bucket-e2e-api.log 2>&1 &
api_pid=$!
wait_for_api "$base" "$api_pid" 60 || fail "the API did not start"
job=$(load_day "$base" 2023-01-01) || fail "POST /jobs was refused"
read -r _ status <<<"$job"
[[ $status == succeeded ]] || fail "the job ended $status"

echo "==> the same day from a directory, by the loader CLI"
target/debug/generator --date 2023-01-01 --out "$local_dir" >/dev/null 2>&1
psql "$admin_url" -qc "CREATE DATABASE $dir_db" >/dev/null
DATABASE_URL="${admin_url%/*}/$dir_db" target/debug/loader migrate >/dev/null
DATABASE_URL="${admin_url%/*}/$dir_db" target/debug/loader load --date 2023-01-01 --data-dir "$local_dir" >/dev/null
from_bucket=$(checksum "$bucket_db")
from_dir=$(checksum "$dir_db")
echo "    from the bucket: $from_bucket"
echo "    from a directory: $from_dir"
[[ $from_bucket == "$from_dir" && $from_bucket == 2756160\ * ]] || fail "the day differs"
if grep -qE '"status": ?5[0-9][0-9]|panicked' target/bucket-e2e-api.log; then
    fail "the API logged a server error or a panic"
fi
echo "==> bucket e2e passed"
