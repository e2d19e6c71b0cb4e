"""A private Postgres cluster from the machine's server binaries.

The server refuses to run as root, so as root it runs as the unprivileged
`postgres` user; its data folder is owned by that user.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
from pathlib import Path

from perflab.procs import (
    UNPRIVILEGED_USER,
    StartError,
    chown_for,
    is_root,
    start_process,
)

SUPERUSER = "perflab"
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


def init_cluster(data_dir: Path, log_path: Path) -> None:
    if (data_dir / "PG_VERSION").exists():
        return
    data_dir.mkdir(parents=True, exist_ok=True)
    user = _run_as()
    if user:
        chown_for(data_dir, user)
        data_dir.chmod(0o700)
    cmd = [
        str(find_bin_dir() / "initdb"),
        "-D", str(data_dir),
        "-U", SUPERUSER,
        "--auth=trust",
        "--encoding=UTF8",
        "--no-sync",
        "--no-instructions",
    ]  # fmt: skip
    log_path.parent.mkdir(parents=True, exist_ok=True)
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
        "-c", "fsync=off",
        "-c", "synchronous_commit=off",
        "-c", "full_page_writes=off",
        "-c", "max_connections=200",
        "-c", "shared_buffers=256MB",
    ]  # fmt: skip
    return start_process(cmd, log_path=log_path, as_user=_run_as())


def dsn(port: int, database: str = DATABASE) -> str:
    return f"postgresql://{SUPERUSER}@127.0.0.1:{port}/{database}"


async def ensure_database(port: int) -> None:
    import asyncpg

    conn = await asyncpg.connect(dsn(port, "postgres"))
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", DATABASE)
        if not exists:
            # Identifier fixed in code, not from input.
            await conn.execute(f'CREATE DATABASE "{DATABASE}"')
    finally:
        await conn.close()
