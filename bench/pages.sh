#!/usr/bin/env bash
# What a read costs with a month of files present (43,201 minute files): `GET /days` for a
# year and `GET /` (the month page), median latency and the file-system calls the server
# makes per request (strace), for three servers side by side, interleaved, 7 rounds:
#   before  — the API as of BEFORE_REV (default: the last revision that listed the data
#             directory for every read), WATCH=off;
#   listing — this tree, WATCH=off: one listing shared by the reads of 5 s;
#   ledger  — this tree, WATCH=on: the reads come from the file ledger (filled first by a
#             watcher of this tree, which is then stopped; the server measured runs no
#             workers, as an API-only instance beside the workers would).
# Uses databases dwh_bench_reads_before / _after and $DATA (default /tmp/dwh-bench-month,
# generated if missing). Release builds; the before binary is built in a git worktree.
#
#   bench/pages.sh
set -euo pipefail
cd "$(dirname "$0")/.."
command -v strace >/dev/null || { echo "strace is needed: apt-get install strace" >&2; exit 1; }

before_rev="${BEFORE_REV:-1689128}"
data="${DATA:-/tmp/dwh-bench-month}"
rounds="${ROUNDS:-7}"
admin_url="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
root="$PWD"

cargo build --release --locked -q --bins
if [[ ! -x target/bench-before/api || "$(cat target/bench-before/rev 2>/dev/null)" != "$before_rev" ]]; then
    worktree=$(mktemp -d)
    git worktree add -f --detach "$worktree" "$before_rev" >/dev/null
    (cd "$worktree" && cargo build --release --locked -q -p api --bin api --target-dir "$root/target/bench-before-build")
    mkdir -p target/bench-before
    cp target/bench-before-build/release/api target/bench-before/api
    echo "$before_rev" >target/bench-before/rev
    git worktree remove --force "$worktree"
fi
files=0
[[ -d $data ]] && files=$(find "$data" -maxdepth 1 -name '*.parquet' | wc -l)
if [[ $files -ne 43201 ]]; then
    echo "generating the month into $data ..." >&2
    target/release/generator --out "$data" >/dev/null
fi

pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    for db in dwh_bench_reads_before dwh_bench_reads_after; do
        psql "$admin_url" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
    done
}
trap cleanup EXIT
for db in dwh_bench_reads_before dwh_bench_reads_after; do
    psql "$admin_url" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db"
done
url_before="${admin_url%/*}/dwh_bench_reads_before"
url_after="${admin_url%/*}/dwh_bench_reads_after"

# serve NAME BINARY DATABASE_URL PORT [VAR=value ...]: starts a server, waits until ready.
serve() {
    local name=$1 binary=$2 url=$3 port=$4
    shift 4
    env DATABASE_URL="$url" DATA_DIR="$data" BIND="127.0.0.1:$port" RUST_LOG=warn "$@" \
        "$binary" >"/tmp/dwh-bench-reads-$name.log" 2>&1 &
    pids+=($!)
    eval "pid_$name=$!"
    until curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; do sleep 0.2; done
}

echo "== filling the file ledger with a watcher (no day settles, so nothing loads)" >&2
serve watcher target/release/api "$url_after" 18190 WATCH=on WORKERS=1 SETTLE_SECS=100000
until [[ $(psql "$url_after" -Atc "SELECT count(*) FROM ops.minute_files") -ge 43201 ]]; do sleep 2; done
kill "$pid_watcher"; wait "$pid_watcher" 2>/dev/null || true

serve before target/bench-before/api "$url_before" 18191 WATCH=off WORKERS=0
serve listing target/release/api "$url_after" 18192 WATCH=off WORKERS=0
serve ledger target/release/api "$url_after" 18193 WATCH=on WORKERS=0
ports=(before:18191 listing:18192 ledger:18193)
paths=("/days?from=2023-01-01&to=2023-12-31" "/")

# File-system calls the server makes while `count` requests for `path` are answered at
# once (strace attached to every thread of the server; one line per call).
calls_during() {
    local name=$1 port=$2 path=$3 count=$4 pid log tracer
    pid=$(eval echo "\$pid_$name")
    log=$(mktemp)
    strace -f -e trace=%file,getdents64 -p "$pid" -o "$log" 2>/dev/null &
    tracer=$!
    sleep 0.5 # attached to every thread
    local requests=()
    for _ in $(seq 1 "$count"); do
        curl -fsS -o /dev/null "http://127.0.0.1:$port$path" &
        requests+=($!)
    done
    wait "${requests[@]}"
    kill -INT "$tracer"
    wait "$tracer" 2>/dev/null || true
    # A call interrupted by another thread's is split over two lines: count it once.
    grep -cv -e 'resumed>' -e ' +++ ' -e ' --- ' "$log" || true
    rm -f "$log"
}

# One request's latency in ms, untraced. The listing server's shared listing is let age
# first, so that every one of its requests lists (its worst case).
latency() {
    local name=$1 port=$2 path=$3
    [[ $name == listing ]] && sleep 5.1
    curl -fsS -o /dev/null -w '%{time_total}' "http://127.0.0.1:$port$path" | awk '{printf "%.1f", $1 * 1000}'
}

results=$(mktemp)
for round in $(seq 1 "$rounds"); do
    for path in "${paths[@]}"; do
        for entry in "${ports[@]}"; do
            name=${entry%%:*}
            echo "$name $path latency $(latency "$name" "${entry##*:}" "$path")" >>"$results"
        done
    done
    echo "round $round of $rounds done" >&2
done
for path in "${paths[@]}"; do
    for entry in "${ports[@]}"; do
        name=${entry%%:*}
        [[ $name == listing ]] && sleep 5.1
        echo "$name $path calls1 $(calls_during "$name" "${entry##*:}" "$path" 1)" >>"$results"
        [[ $name == listing ]] && sleep 5.1
        echo "$name $path calls8 $(calls_during "$name" "${entry##*:}" "$path" 8)" >>"$results"
    done
done

python3 - "$results" "$rounds" <<'PY'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
rounds = sys.argv[2]
def values(name, path, kind):
    return [float(r[3]) for r in rows if r[0] == name and r[1] == path and r[2] == kind]
print(f"{'server':8} {'request':40} {'median ms':>10} {'ratio':>7} {'fs calls':>9} {'8 at once':>10}")
for path in ["/days?from=2023-01-01&to=2023-12-31", "/"]:
    base = statistics.median(values("before", path, "latency"))
    for name in ["before", "listing", "ledger"]:
        ms = statistics.median(values(name, path, "latency"))
        one = values(name, path, "calls1")[0]
        eight = values(name, path, "calls8")[0]
        print(f"{name:8} {'GET ' + path:40} {ms:10.1f} {ms / base:7.3f} {one:9.0f} {eight / 8:10.0f}")
print(f"(latency: medians of {rounds} interleaved rounds, untraced; fs calls: file-system calls")
print(" the server made for one request, and per request for 8 requests at once)")
PY
rm -f "$results"
