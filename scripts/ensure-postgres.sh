#!/usr/bin/env bash
# Makes sure the local PostgreSQL cluster answers on 127.0.0.1:5432, starting it if it is down.
set -euo pipefail

if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
    exit 0
fi
if ! command -v pg_ctlcluster >/dev/null; then
    echo "PostgreSQL is not running on 127.0.0.1:5432 and pg_ctlcluster is not installed;" >&2
    echo "install PostgreSQL (apt-get install postgresql) or set DATABASE_URL." >&2
    exit 1
fi
version=$(ls /etc/postgresql | sort -n | tail -n 1)
echo "starting PostgreSQL $version ..." >&2
pg_ctlcluster --skip-systemctl-redirect "$version" main start
for _ in $(seq 1 30); do
    pg_isready -q -h 127.0.0.1 -p 5432 && exit 0
    sleep 1
done
echo "PostgreSQL did not become ready on 127.0.0.1:5432 within 30 s" >&2
exit 1
