#!/usr/bin/env python3
"""Keeps docker-compose.yaml, the Dockerfile and .env.example honest without a Docker engine.

Parses the compose file as Compose does (YAML merge keys included) and checks the services,
their healthchecks, depends_on conditions, volumes and roles, that every variable the file
uses is in .env.example, and that the Dockerfile is multi-stage, pinned and non-root.

    python3 deploy/check_compose.py        # exit 1 with the list of problems
"""
import os
import pathlib
import re
import shutil
import subprocess
import sys

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
problems = []


def check(condition, message):
    if not condition:
        problems.append(message)


compose = yaml.safe_load((ROOT / "docker-compose.yaml").read_text())
services = compose.get("services", {})
check(set(services) == {"postgres", "migrate", "generator", "api"},
      f"services are {sorted(services)}, expected postgres, migrate, generator, api")
declared_volumes = set((compose.get("volumes") or {}).keys())

# postgres: pinned major version, pg_isready healthcheck, named volume, init scripts.
pg = services.get("postgres", {})
check(re.fullmatch(r"postgres:15\.\d+(-[a-z]+)?", pg.get("image", "")) is not None,
      f"postgres image {pg.get('image')!r} is not pinned to a 15.x release")
check("pg_isready" in " ".join(pg.get("healthcheck", {}).get("test", [])),
      "postgres has no pg_isready healthcheck")
pg_volumes = pg.get("volumes", [])
check(any(v.startswith("pgdata:") for v in pg_volumes), "postgres data is not on the named volume pgdata")
init = [v for v in pg_volumes if v.endswith("/docker-entrypoint-initdb.d:ro")]
check(len(init) == 1, "postgres does not mount the init scripts read-only")
if init:
    init_dir = ROOT / init[0].split(":")[0]
    check((init_dir / "10-roles.sh").exists(), f"{init_dir}/10-roles.sh is missing")
    for sql in re.findall(r"initdb\.d/([\w.-]+)", (init_dir / "10-roles.sh").read_text()):
        check((init_dir / sql).exists(), f"10-roles.sh runs {sql}, which is missing")

# The app services connect as the least-privilege role, never as the superuser.
for name in ("migrate", "generator", "api"):
    service = services.get(name, {})
    env = service.get("environment", {})
    url = env.get("DATABASE_URL", "")
    check(url.startswith("postgres://dwh_loader:"), f"{name} does not connect as dwh_loader: {url!r}")
    check("data:/data" in service.get("volumes", []), f"{name} does not share the data volume")
    check(service.get("image") == "dwh-loader:local" and service.get("build") == ".",
          f"{name} does not run the project's image")

check(services.get("migrate", {}).get("command") == ["loader", "migrate"], "migrate does not run `loader migrate`")
generator = services.get("generator", {})
check(generator.get("command") == ["generator"], "generator does not run the generator")
check(generator.get("restart") == "no", "the one-shot generator must not restart")
gen_env = generator.get("environment", {})
check(gen_env.get("GENERATOR_FROM") == "${GENERATE_FROM:-2023-01-01 00:00}"
      and gen_env.get("GENERATOR_TO") == "${GENERATE_TO:-2023-01-02 23:59}",
      "generator's default range is not 2023-01-01 00:00 … 2023-01-02 23:59")

api = services.get("api", {})
depends = api.get("depends_on", {})
for dependency, condition in [("postgres", "service_healthy"),
                              ("migrate", "service_completed_successfully"),
                              ("generator", "service_completed_successfully")]:
    check(depends.get(dependency, {}).get("condition") == condition,
          f"api does not wait for {dependency} ({condition})")
check("/readyz" in " ".join(api.get("healthcheck", {}).get("test", [])), "api has no /readyz healthcheck")
check(api.get("environment", {}).get("BIND") == "0.0.0.0:8080", "api does not listen on 0.0.0.0:8080")
check(any(str(p).endswith(":8080") for p in api.get("ports", [])), "api does not publish port 8080")
check(str(api.get("environment", {}).get("API_TOKEN", "")).startswith("${API_TOKEN:?"),
      "api listens on 0.0.0.0 but does not require API_TOKEN")
check(str(api.get("environment", {}).get("HTTP_DATABASE_URL", "")).startswith("postgres://dwh_api:"),
      "api's HTTP requests do not connect as dwh_api (least privilege)")
check(str(api.get("environment", {}).get("DATABASE_URL", "")).startswith("postgres://dwh_loader:"),
      "api's workers do not connect as dwh_loader")

# The database's first start refuses the example's passwords: run the init script with them.
init = ROOT / "deploy/postgres/init/10-roles.sh"
example_env = dict(line.split("=", 1) for line in (ROOT / ".env.example").read_text().splitlines()
                   if re.match(r"^[A-Z_][A-Z0-9_]*=", line))
run = subprocess.run([shutil.which("bash") or "/bin/bash", str(init)], env={**os.environ, **example_env, "POSTGRES_USER": "postgres",
                                               "PATH": "/nonexistent"}, capture_output=True, text=True)
check(run.returncode != 0 and "refusing" in run.stderr,
      f"the init script accepted the example passwords: {run.returncode} {run.stderr!r}")

# Every named volume used is declared (a `${VAR:-default}` source read as its default).
def with_defaults(text):
    return re.sub(r"\$\{[A-Z_][A-Z0-9_]*:-([^}]*)\}", r"\1", text)


for name, service in services.items():
    for volume in service.get("volumes", []):
        source = with_defaults(volume).split(":")[0]
        if not source.startswith((".", "/")):
            check(source in declared_volumes, f"{name} uses volume {source!r}, which is not declared")

# The datasets folder is mounted read-only where DATASETS_FILE's files are, and exists.
for name in ("migrate", "generator", "api"):
    mounts = [with_defaults(v) for v in services.get(name, {}).get("volumes", [])]
    check("./deploy/datasets:/etc/dwh-loader/datasets:ro" in mounts,
          f"{name} does not mount the datasets folder read-only")
check((ROOT / "deploy/datasets/example.toml").is_file(), "deploy/datasets/example.toml is missing")

# Every variable the compose file reads is documented in .env.example.
raw = (ROOT / "docker-compose.yaml").read_text()
used = set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*)", raw))
example = {line.split("=", 1)[0] for line in (ROOT / ".env.example").read_text().splitlines()
           if re.match(r"^[A-Z_][A-Z0-9_]*=", line)}
for var in sorted(used - example):
    problems.append(f"docker-compose.yaml uses ${{{var}}}, which .env.example does not define")

# Dockerfile: multi-stage, pinned bases, dependency layer, non-root, the three binaries.
dockerfile = (ROOT / "Dockerfile").read_text()
bases = re.findall(r"^FROM\s+(\S+)", dockerfile, re.M)
check(len(bases) >= 2, "the Dockerfile is not multi-stage")
for base in bases:
    check(":" in base and not base.endswith(":latest") and re.search(r":\S*\d", base) is not None,
          f"base image {base} is not pinned")
check(re.search(r"^USER\s+(?!root\b)\S+", dockerfile, re.M) is not None, "the runtime image runs as root")
for binary in ("generator", "loader", "api"):
    check(f"target/release/{binary}" in dockerfile, f"the image lacks the {binary} binary")
check("--locked" in dockerfile, "the image build does not use Cargo.lock (--locked)")
for copied in re.findall(r"^COPY\s+(?!--)(\S+)\s", dockerfile, re.M):
    check((ROOT / copied).exists(), f"the Dockerfile copies {copied}, which does not exist")
# Cargo must be able to load the whole workspace in the image: every member's manifest.
workspace = (ROOT / "Cargo.toml").read_text()
members = re.findall(r'"([^"]+)"', re.search(r"members\s*=\s*\[([^\]]*)\]", workspace).group(1))
for member in members:
    check(f"COPY {member}/Cargo.toml" in dockerfile or re.search(rf"^COPY {member}\s", dockerfile, re.M),
          f"the Dockerfile does not copy workspace member {member}'s manifest")
ignored = (ROOT / ".dockerignore").read_text().split()
check("target" in ignored or "/target" in ignored, ".dockerignore does not exclude target/")

if problems:
    print("deployment files have problems:", *problems, sep="\n  - ", file=sys.stderr)
    sys.exit(1)
print(f"docker-compose.yaml, Dockerfile, .env.example: {len(services)} services checked, all consistent")
