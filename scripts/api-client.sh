# Driving a running `api` binary from the end-to-end scripts. Sourced (not run).
#
#   wait_for_api BASE PID TRIES   until BASE/readyz answers, every 0.5 s, at most TRIES
#                                 times; fails at once when process PID has exited
#   load_day BASE DATE            POSTs a load of DATE and waits for its job to end (at
#                                 most 2 minutes); prints "<job id> <final status>"

wait_for_api() {
    local base=$1 pid=$2 tries=$3
    for _ in $(seq 1 "$tries"); do
        curl -fsS "$base/readyz" >/dev/null 2>&1 && return 0
        kill -0 "$pid" 2>/dev/null || return 1
        sleep 0.5
    done
    return 1
}

load_day() {
    local base=$1 date=$2 id status=queued
    id=$(curl -fsS -X POST "$base/jobs?date=$date" | python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])') \
        || return 1
    for _ in $(seq 1 600); do
        status=$(curl -fsS "$base/jobs/$id" | python3 -c 'import json, sys; print(json.load(sys.stdin)["status"])')
        [[ $status == queued || $status == running ]] || break
        sleep 0.2
    done
    echo "$id $status"
}
