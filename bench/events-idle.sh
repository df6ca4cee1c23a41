#!/usr/bin/env bash
# What idle dashboard clients cost: the API's CPU time (utime + stime from /proc) and
# resident memory over IDLE_SECS with no client, and with CLIENTS open `GET /events`
# streams that receive nothing but keep-alives, in interleaved rounds (release build,
# nothing loading).
#
#   bench/events-idle.sh                        # 7 rounds, 1,000 clients, 30 s each
#   ROUNDS=3 CLIENTS=200 IDLE_SECS=10 bench/events-idle.sh
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=${ROUNDS:-7}
clients=${CLIENTS:-1000}
idle_secs=${IDLE_SECS:-30}
db=dwh_bench_events
admin_url=${ADMIN_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
port=18083
data=$(mktemp -d)
ulimit -n 8192
cargo build --release --locked -p api >/dev/null 2>&1
psql -q "$admin_url" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db" >/dev/null
# EVENTS_MAX_CLIENTS: room for every client held (the default serves 100).
DATABASE_URL="${admin_url%/*}/$db" DATA_DIR="$data" BIND="127.0.0.1:$port" WATCH=off \
    EVENTS_MAX_CLIENTS="$clients" LOG_FORMAT=json RUST_LOG=warn target/release/api >/tmp/dwh-bench-events.log 2>&1 &
api_pid=$!
trap 'kill $api_pid 2>/dev/null; wait $api_pid 2>/dev/null; rm -rf "$data"; psql -q "$admin_url" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1' EXIT
until curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; do sleep 0.2; done

# Holds `n` event streams open for `secs` seconds, reading what arrives (keep-alives).
hold() {
    python3 - "$port" "$1" "$2" <<'PY'
import asyncio, sys
port, n, secs = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
async def client():
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n")
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    assert b" 200 " in head.split(b"\r\n")[0], head
    while True:
        await reader.read(4096)
async def main():
    tasks = [asyncio.create_task(client()) for _ in range(n)]
    await asyncio.sleep(secs)
    failed = [t for t in tasks if t.done()]
    if failed:
        raise SystemExit(f"{len(failed)} streams ended early: {failed[0].exception()!r}")
asyncio.run(main())
PY
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$api_pid/stat"; }
rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$api_pid/status"; }
ticks_per_sec=$(getconf CLK_TCK)
measure() { # clients → "cpu% rss_mib"
    local n=$1
    if [[ $n -gt 0 ]]; then hold "$n" $((idle_secs + 5)) & holder=$!; sleep 5; fi
    local before after
    before=$(cpu_ticks)
    sleep "$idle_secs"
    after=$(cpu_ticks)
    local rss
    rss=$(rss_kib)
    if [[ $n -gt 0 ]]; then wait "$holder"; fi
    python3 -c "print(f'{($after - $before) / $ticks_per_sec / $idle_secs * 100:.2f} {$rss / 1024:.1f}')"
}
none=()
many=()
for round in $(seq 1 "$rounds"); do
    read -r cpu rss < <(measure 0)
    echo "round $round, no client:     CPU ${cpu} % of one core, RSS ${rss} MiB"
    none+=("$cpu")
    read -r cpu rss < <(measure "$clients")
    echo "round $round, $clients clients: CPU ${cpu} % of one core, RSS ${rss} MiB"
    many+=("$cpu")
done
python3 -c '
import statistics, sys
none, many = (list(map(float, s.split())) for s in sys.argv[1:3])
print(f"median CPU: no client {statistics.median(none):.2f} %, {sys.argv[3]} idle clients {statistics.median(many):.2f} % of one core")
' "${none[*]}" "${many[*]}" "$clients"
