#!/usr/bin/env bash
# HTTP latency of the job API (release build) with wrk on loopback:
#   1. GET /jobs/{id} at 64 connections for 15 s;
#   2. POST /jobs?date=2023-01-01 while loads of that day run back to back (each POST either
#      queues the next load or answers 409): paced at 50 requests/s from one client (the
#      latency a user sees), then flat out from 8 connections (a stress figure: wrk and the
#      load then compete for the 2 cores).
# Uses a database of its own (dwh_bench_api) and data/ (generates 2023-01-01 if missing).
#
#   bench/api.sh
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }

admin_url="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
database=dwh_bench_api
port=18080
base="http://127.0.0.1:$port"
cargo build --release --locked -q --bins
target/release/generator --date 2023-01-01 --out data >/dev/null
psql "$admin_url" -qc "DROP DATABASE IF EXISTS $database WITH (FORCE)" -c "CREATE DATABASE $database"
DATABASE_URL="${admin_url%/*}/$database" DATA_DIR=data BIND="127.0.0.1:$port" RUST_LOG=warn WATCH=off \
    target/release/api >/tmp/dwh-bench-api.log 2>&1 &
api_pid=$!
trap 'kill $api_pid 2>/dev/null; wait $api_pid 2>/dev/null; psql "$admin_url" -qc "DROP DATABASE IF EXISTS $database WITH (FORCE)"' EXIT
until curl -fsS "$base/readyz" >/dev/null 2>&1; do sleep 0.2; done

id=$(curl -fsS -X POST "$base/jobs?date=2023-01-01" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
until curl -fsS "$base/jobs/$id" | grep -q '"status":"succeeded"'; do sleep 0.5; done

echo "== GET /jobs/{id}, 64 connections, 15 s"
wrk -t2 -c64 -d15s --latency "$base/jobs/$id"

echo "== POST /jobs?date=2023-01-01, paced 50/s for 15 s, loads running back to back"
python3 - "$base" <<'PY'
import http.client, sys, time, urllib.parse
url = urllib.parse.urlparse(sys.argv[1])
conn = http.client.HTTPConnection(url.hostname, url.port)
latencies, codes = [], {}
start = time.perf_counter()
for i in range(750):
    time.sleep(max(0.0, start + i / 50 - time.perf_counter()))
    t0 = time.perf_counter()
    conn.request("POST", "/jobs?date=2023-01-01")
    response = conn.getresponse(); response.read()
    latencies.append((time.perf_counter() - t0) * 1000)
    codes[response.status] = codes.get(response.status, 0) + 1
latencies.sort()
pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))]
print(f"requests {len(latencies)}  statuses {codes}")
print(f"latency ms: p50 {pick(0.5):.2f}  p90 {pick(0.9):.2f}  p99 {pick(0.99):.2f}  max {latencies[-1]:.2f}")
PY

echo "== POST /jobs?date=2023-01-01, 8 connections flat out, 15 s, loads running back to back"
cat >/tmp/dwh-bench-post.lua <<'LUA'
wrk.method = "POST"
local codes = {}
response = function(status) codes[status] = (codes[status] or 0) + 1 end
done = function()
  for status, n in pairs(codes) do io.write(string.format("status %d: %d\n", status, n)) end
end
LUA
wrk -t2 -c8 -d15s --latency -s /tmp/dwh-bench-post.lua "$base/jobs?date=2023-01-01"
loads=$(psql "${admin_url%/*}/$database" -Atc "SELECT count(*) FILTER (WHERE status = 'succeeded') || ' loads succeeded during the run' FROM ops.jobs")
echo "$loads"
