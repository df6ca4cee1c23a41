#!/usr/bin/env bash
# Does HTTP traffic slow a load down? One day (1,440 files) replaced through the API
# (release build, 1 worker), quiet and under traffic, interleaved in the same run:
# 200 concurrent clients, each sending one request a second for as long as the load runs
# (GET /partitions/2023-01-02, GET /jobs, POST /jobs for ten other one-minute days, in
# turn). A load's time is its job's started_at → finished_at. Prints every round, the
# medians, their ratio (the goal is ≤ 1.5), and the traffic's statuses and latency; any
# 5xx fails the run. Also: the swap's duration in every load (from the api's log: the
# time readers of the day can wait, the job's success check included) and the latency of
# GET /partitions/2023-01-01 on the whole loaded day, quiet (100 requests).
#
#   bench/api-under-load.sh            # 7 rounds of each
#   ROUNDS=3 bench/api-under-load.sh
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=${ROUNDS:-7}
data=${BENCH_DATA_DIR:-/tmp/dwh-bench-under-load}
db=dwh_bench_under_load
admin_url=${ADMIN_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$db"
port=18081
base="http://127.0.0.1:$port"

cargo build --release --locked -p generator -p api >/dev/null 2>&1
target/release/generator --out "$data" --date 2023-01-01 >/dev/null 2>&1
for day in $(seq -w 2 12); do   # one minute of each: the day read and the days posted
    target/release/generator --out "$data" --from "2023-01-$day 00:00" --to "2023-01-$day 00:00" >/dev/null 2>&1
done
cat "$data/2023-01-01 "*.parquet >/dev/null
psql -q "$admin_url" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db" >/dev/null 2>&1
q() { psql -qAt "$DATABASE_URL" -c "$1"; }

DATA_DIR="$data" BIND="127.0.0.1:$port" WORKERS=1 LOG_FORMAT=json WATCH=off \
    target/release/api >/tmp/dwh-bench-under-load.log 2>&1 &
api_pid=$!
trap 'kill $api_pid 2>/dev/null; wait $api_pid 2>/dev/null; psql -q "$admin_url" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1' EXIT
until curl -fsS "$base/readyz" >/dev/null 2>&1; do sleep 0.2; done

# Waits until no job is queued or running.
drain() { until [[ $(q "SELECT count(*) FROM ops.jobs WHERE status IN ('queued', 'running')") == 0 ]]; do sleep 0.1; done; }
# POSTs a day's load; prints its job id.
post() { curl -fsS -X POST "$base/jobs?$1" | python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])'; }
# Seconds the job ran, once it has ended (it must have succeeded).
ran() {
    until [[ $(q "SELECT status FROM ops.jobs WHERE id = '$1'") =~ ^(succeeded|failed|cancelled)$ ]]; do sleep 0.05; done
    [[ $(q "SELECT status FROM ops.jobs WHERE id = '$1'") == succeeded ]] || { echo "job $1 did not succeed" >&2; exit 1; }
    q "SELECT extract(epoch FROM finished_at - started_at) FROM ops.jobs WHERE id = '$1'"
}

post "date=2023-01-02&allow_partial=true" >/dev/null; drain
post "date=2023-01-01" >/dev/null; drain   # the day exists: every timed load replaces it

traffic=/tmp/dwh-bench-traffic.py
cat >"$traffic" <<'PY'
import http.client, json, sys, threading, time
host, port, stop_file, out = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
paths = [("GET", "/partitions/2023-01-02"), ("GET", "/jobs?limit=50")] + [
    ("POST", f"/jobs?date=2023-01-{d:02}&allow_partial=true") for d in range(3, 13)]
statuses, latencies, lock = {}, [], threading.Lock()
import os
def client(n):
    conn = http.client.HTTPConnection(host, port, timeout=60)
    i = n
    while not os.path.exists(stop_file):
        started = time.perf_counter()
        method, path = paths[i % 2] if i % 3 else paths[2 + i % 10]
        try:
            conn.request(method, path); response = conn.getresponse(); response.read()
            status = response.status
        except Exception:
            conn.close(); conn = http.client.HTTPConnection(host, port, timeout=60); status = "error"
        elapsed = time.perf_counter() - started
        with lock:
            statuses[status] = statuses.get(status, 0) + 1; latencies.append(elapsed * 1000)
        i += 1
        time.sleep(max(0.0, 1.0 - elapsed))
threads = [threading.Thread(target=client, args=(n,)) for n in range(200)]
for t in threads: t.start()
for t in threads: t.join()
json.dump({"statuses": statuses, "latencies": sorted(latencies)}, open(out, "w"))
PY

quiet=() loaded=() reports=()
for round in $(seq 1 "$rounds"); do
    id=$(post "date=2023-01-01"); quiet+=("$(ran "$id")"); drain
    rm -f /tmp/dwh-bench-stop
    python3 "$traffic" 127.0.0.1 "$port" /tmp/dwh-bench-stop "/tmp/dwh-bench-traffic-$round.json" &
    traffic_pid=$!
    sleep 1   # every client has sent its first request
    id=$(post "date=2023-01-01"); loaded+=("$(ran "$id")")
    touch /tmp/dwh-bench-stop; wait "$traffic_pid"
    drain; q "DELETE FROM ops.jobs WHERE date <> '2023-01-01' AND date <> '2023-01-02'" >/dev/null
    echo "round $round: quiet ${quiet[-1]} s, under traffic ${loaded[-1]} s"
done

partition_ms=$(for _ in $(seq 1 100); do
    curl -fsS -o /dev/null -w '%{time_total}\n' "$base/partitions/2023-01-01"
done | sort -n | awk '{a[NR] = $1 * 1000} END {printf "median %.2f ms, max %.2f ms", a[int(NR / 2)], a[NR]}')
echo "GET /partitions/2023-01-01 (whole day, 100 requests, quiet): $partition_ms"

python3 - "$rounds" "${quiet[*]}" "${loaded[*]}" <<'PY'
import json, statistics, sys
swaps = sorted(json.loads(line)["swap_ms"] for line in open("/tmp/dwh-bench-under-load.log")
               if '"day replaced"' in line and '"2023-01-01"' in line)
print(f"swap of 2023-01-01 over {len(swaps)} loads: median {statistics.median(swaps)} ms, max {swaps[-1]} ms")
rounds = int(sys.argv[1])
quiet = [float(x) for x in sys.argv[2].split()]; loaded = [float(x) for x in sys.argv[3].split()]
statuses, latencies = {}, []
for r in range(1, rounds + 1):
    report = json.load(open(f"/tmp/dwh-bench-traffic-{r}.json"))
    for k, v in report["statuses"].items(): statuses[k] = statuses.get(k, 0) + v
    latencies += report["latencies"]
latencies.sort()
pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))]
mq, ml = statistics.median(quiet), statistics.median(loaded)
print(f"quiet load: median {mq:.2f} s; under 200 clients: median {ml:.2f} s; ratio {ml / mq:.2f} (goal <= 1.5)")
print(f"requests during the loads: {sum(statuses.values())}, statuses {dict(sorted(statuses.items()))}")
print(f"latency ms: p50 {pick(0.5):.1f}  p99 {pick(0.99):.1f}  max {latencies[-1]:.1f}")
errors = sum(v for k, v in statuses.items() if k == "error" or int(k) >= 500)
sys.exit(1 if errors else 0)
PY
