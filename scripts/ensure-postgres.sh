#!/usr/bin/env bash
# Makes sure a PostgreSQL answers for the scripts: DATABASE_URL's, the local cluster on
# 127.0.0.1:5432 (started if it is down, installed from Debian's packages if missing and
# root is at hand), or the embedded one (see scripts/postgres.sh). Prints the URL it uses.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/postgres.sh
use_postgres
echo "$DATABASE_URL"
