#!/usr/bin/env bash
# Generator throughput: one day (3 runs) and the whole month (1 run), fresh output each time.
# Prints wall seconds, files/s, MB/s and peak RSS. Usage: bench/generator.sh [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-/tmp/dwh-bench-generator}"
cargo build --release --locked -p generator >/dev/null 2>&1
bin=target/release/generator

run() {
    local label=$1; shift
    rm -rf "$out"
    /usr/bin/time -f '%e %M' -o /tmp/dwh-bench-time "$bin" --out "$out" "$@" >/tmp/dwh-bench-out 2>/dev/null
    read -r seconds rss_kib </tmp/dwh-bench-time
    local files bytes
    files=$(find "$out" -name '*.parquet' | wc -l)
    bytes=$(du -sb "$out" | cut -f1)
    awk -v l="$label" -v s="$seconds" -v f="$files" -v b="$bytes" -v r="$rss_kib" 'BEGIN {
        printf "%-6s %6d files %8.1f MB %7.2f s %7.0f files/s %6.0f MB/s  peak RSS %5.1f MiB\n",
               l, f, b/1e6, s, f/s, b/1e6/s, r/1024 }'
}

for i in 1 2 3; do run "day$i" --date 2023-01-01; done
run month
rm -rf "$out"
