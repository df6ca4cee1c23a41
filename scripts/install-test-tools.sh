#!/usr/bin/env bash
# Installs what the end-to-end checks need, when it is missing: Debian's Chromium (never a
# downloaded browser), FUSE (for a test's file system whose reads hang), Prometheus's
# promtool (Debian's `prometheus`: checks and unit-tests the alert rules), playwright-core
# and axe-core from npm, schemathesis, fusepy, pyarrow, duckdb, polars and
# openlineage-python from PyPI (in a virtualenv under target/), and s3s-fs from crates.io
# (a real S3-compatible server for the bucket tests; it serves a directory and checks
# request signatures, and builds with this toolchain: 0.14.1 is the last version that
# does). Idempotent; quick when everything is there.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_install() {
    export DEBIAN_FRONTEND=noninteractive
    local sudo_cmd=(); [[ $(id -u) -ne 0 ]] && sudo_cmd=(sudo)
    "${sudo_cmd[@]}" apt-get install -y -q "$@" >/dev/null \
        || { "${sudo_cmd[@]}" apt-get update -q >/dev/null && "${sudo_cmd[@]}" apt-get install -y -q "$@" >/dev/null; }
}

if [[ ! -x /usr/bin/chromium ]]; then
    echo "installing Debian's chromium ..." >&2
    apt_install chromium chromium-driver
fi

# fusermount (fuse3) and the libfuse that fusepy loads (libfuse2).
if ! command -v fusermount >/dev/null || ! /sbin/ldconfig -p | grep -q 'libfuse\.so\.2'; then
    echo "installing Debian's fuse3 and libfuse2 ..." >&2
    apt_install fuse3 libfuse2
fi

# promtool. The package brings the Prometheus server too: where systemd started it, the
# service installed for the tests is stopped and disabled again.
if ! command -v promtool >/dev/null; then
    echo "installing Debian's prometheus (for promtool) ..." >&2
    apt_install --no-install-recommends prometheus
    if [[ -d /run/systemd/system ]]; then
        sudo_cmd=(); [[ $(id -u) -ne 0 ]] && sudo_cmd=(sudo)
        "${sudo_cmd[@]}" systemctl disable --now prometheus >/dev/null 2>&1 || true
    fi
fi

if [[ ! -d api/tests/e2e/node_modules/playwright-core || ! -d api/tests/e2e/node_modules/@axe-core/playwright ]]; then
    echo "installing playwright-core and axe-core (npm ci) ..." >&2
    # PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD: playwright-core downloads nothing, but be explicit.
    (cd api/tests/e2e && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --silent)
fi

venv=target/e2e-venv
schemathesis_version=4.32.5
if ! "$venv/bin/schemathesis" --version 2>/dev/null | grep -q "$schemathesis_version"; then
    echo "installing schemathesis $schemathesis_version ..." >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check "schemathesis==$schemathesis_version"
fi
# One pinned package from PyPI into the virtualenv, unless that version is there already.
pip_pinned() {
    local name=$1 version=$2
    "$venv/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('$name') != '$version')" 2>/dev/null && return 0
    echo "installing $name $version ..." >&2
    "$venv/bin/pip" install -q --disable-pip-version-check "$name==$version"
}
pip_pinned fusepy 3.0.1
# The Parquet compatibility matrix (loader/tests/compat) rewrites files with other writers.
pip_pinned pyarrow 26.0.1
pip_pinned duckdb 2.0.0
pip_pinned polars 2.1.0
# OpenLineage's own client: its object model checks the events the API emits
# (scripts/validate-openlineage.py, run by api/tests/api/lineage.rs).
pip_pinned openlineage-python 1.54.0

s3s_fs_version=0.14.1
if ! s3s-fs --version 2>/dev/null | grep -q "$s3s_fs_version"; then
    echo "installing s3s-fs $s3s_fs_version (cargo install, a few minutes the first time) ..." >&2
    cargo install --quiet --locked s3s-fs --version "$s3s_fs_version" --features binary
fi
