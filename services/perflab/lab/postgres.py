"""A private Postgres cluster from the machine's server binaries.

The server refuses to run as root, so as root it runs as the unprivileged
`postgres` user; its data folder is owned by that user. Every connection, the
socket's included, authenticates with scram-sha-256: the superuser `postgres` (the
lab's own setup) and the application role `perflab`, which owns the lab's database
and tables but is no superuser (so no `COPY ... TO PROGRAM`, no reading server
files). Their passwords live in the state folder (`perflab.lab.secrets`).
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from perflab.procs import (
    UNPRIVILEGED_USER,
    StartError,
    chown_for,
    is_root,
    start_process,
)
from perflab.settings import with_password

SUPERUSER = "postgres"
APP_ROLE = "perflab"
DATABASE = "perflab"


def find_bin_dir() -> Path:
    """The newest `/usr/lib/postgresql/<ver>/bin`, or the folder of `postgres` on PATH."""
    override = os.environ.get("PERFLAB_PG_BIN")
    if override:
        return Path(override)

    def version(binary: str) -> int:
        name = Path(binary).parent.parent.name
        return int(name) if name.isdigit() else 0

    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"), key=version)
    if candidates:
        return Path(candidates[-1]).parent
    found = shutil.which("postgres")
    if found:
        return Path(found).parent
    raise StartError(
        "postgres: server binaries not found (install postgresql or set PERFLAB_PG_BIN)"
    )


def _run_as() -> str | None:
    return UNPRIVILEGED_USER if is_root() else None


def check_not_trusting(data_dir: Path) -> None:
    """A cluster made before the lab had passwords trusts every local connection."""
    hba = data_dir / "pg_hba.conf"
    if not hba.exists():
        return
    rules = [line.split() for line in hba.read_text().splitlines() if line.strip()]
    if any(rule[-1] == "trust" for rule in rules if not rule[0].startswith("#")):
        raise StartError(
            f"postgres: {data_dir} trusts every local connection (made before the lab had "
            "passwords); run `lab down --purge` and `lab up` (the data is seeded again)"
        )


def init_cluster(data_dir: Path, log_path: Path, superuser_password: str) -> None:
    if (data_dir / "PG_VERSION").exists():
        check_not_trusting(data_dir)
        return
    data_dir.mkdir(parents=True, exist_ok=True)
    user = _run_as()
    if user:
        chown_for(data_dir, user)
        data_dir.chmod(0o700)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    # initdb reads the superuser's password from a file its own user can read.
    with tempfile.TemporaryDirectory(prefix="perflab-initdb-") as scratch:
        pwfile = Path(scratch) / "pw"
        pwfile.write_text(superuser_password + "\n")
        pwfile.chmod(0o600)
        if user:
            chown_for(Path(scratch), user)
            chown_for(pwfile, user)
        cmd = [
            str(find_bin_dir() / "initdb"),
            "-D", str(data_dir),
            "-U", SUPERUSER,
            f"--pwfile={pwfile}",
            "--auth=scram-sha-256",
            "--encoding=UTF8",
            "--no-sync",
            "--no-instructions",
        ]  # fmt: skip
        with open(log_path, "ab") as log:
            done = subprocess.run(
                cmd, stdout=log, stderr=subprocess.STDOUT, user=user, group=user,
                extra_groups=[] if user else None, check=False,
            )  # fmt: skip
    if done.returncode != 0:
        raise StartError(f"postgres: initdb failed (exit {done.returncode}), see {log_path}")


def start(data_dir: Path, port: int, log_path: Path) -> subprocess.Popen[bytes]:
    cmd = [
        str(find_bin_dir() / "postgres"),
        "-D", str(data_dir),
        "-p", str(port),
        "-c", "listen_addresses=127.0.0.1",
        "-c", f"unix_socket_directories={data_dir}",
        # Durable against a crash of Postgres (lab fault postgres), not of the machine:
        # a commit returns once its WAL reached the OS (synchronous_commit stays on, so
        # a SIGKILL loses no committed row), which does not wait for the disk (fsync off).
        "-c", "fsync=off",
        "-c", "full_page_writes=off",
        "-c", "max_connections=200",
        "-c", "shared_buffers=256MB",
    ]  # fmt: skip
    return start_process(cmd, log_path=log_path, as_user=_run_as())


def dsn(port: int, database: str = DATABASE, user: str = APP_ROLE) -> str:
    """The URL without a password (what the lab shows; settings add the password)."""
    return f"postgresql://{user}@127.0.0.1:{port}/{database}"


def superuser_dsn(port: int, password: str) -> str:
    return with_password(dsn(port, "postgres", SUPERUSER), password)


async def ensure_database(port: int, superuser_password: str, app_password: str) -> None:
    """The application role (password kept in sync with its secret) and its database."""
    import asyncpg

    conn = await asyncpg.connect(superuser_dsn(port, superuser_password))
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", APP_ROLE)
        verb = "ALTER" if exists else "CREATE"
        # Role DDL takes no bind parameters: the server quotes the bound password (%L),
        # so the statement is built from a parameter, never from Python string formatting.
        statement = await conn.fetchval(
            f"SELECT format('{verb} ROLE {APP_ROLE} WITH LOGIN NOSUPERUSER NOCREATEDB "
            "NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD %L', $1::text)",
            app_password,
        )
        await conn.execute(statement)
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", DATABASE):
            # Identifiers fixed in code, not from input.
            await conn.execute(f'CREATE DATABASE "{DATABASE}" OWNER "{APP_ROLE}"')
        await conn.execute(f'REVOKE ALL ON DATABASE "{DATABASE}" FROM PUBLIC')
    finally:
        await conn.close()
