#!/usr/bin/env bash
# Checks what deploy/ gives a team to operate the service with, using the real promtool
# (Debian's `prometheus`): the alert rules load (`promtool check rules`), their unit tests
# fire each alert, and not, at the right minute (`promtool test rules`), and every query
# of the Grafana dashboard is valid PromQL (each checked as a recording rule). That every
# metric they name is one the service exports is an API test (tests/api/operations.rs),
# against the real /metrics.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v promtool >/dev/null || scripts/install-test-tools.sh

promtool check rules deploy/prometheus/alerts.yml
(cd deploy/prometheus && promtool test rules alerts.test.yml)

rules=$(mktemp --suffix=.yml)
trap 'rm -f "$rules"' EXIT
python3 - deploy/grafana/dwh-loader.json "$rules" <<'PY'
import json, sys
dashboard = json.load(open(sys.argv[1]))
exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
assert exprs and all(p["targets"] for p in dashboard["panels"]), "a panel without a query"
with open(sys.argv[2], "w") as out:
    out.write("groups:\n  - name: dashboard\n    rules:\n")
    for n, expr in enumerate(exprs):
        # Grafana's variables, as a query would have them substituted.
        expr = expr.replace("$dataset", ".*")
        out.write(f"      - record: dashboard_query_{n}\n        expr: {json.dumps(expr)}\n")
print(f"the dashboard: {len(dashboard['panels'])} panels, {len(exprs)} queries", file=sys.stderr)
PY
promtool check rules "$rules"
