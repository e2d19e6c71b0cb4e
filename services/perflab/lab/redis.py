"""A private Redis server on loopback, password-protected, its data in append-only files.

The password goes in a config file (mode 0600) rather than on the command line,
where `ps` would show it to every local user. With `persist`, every write is in the
append-only file before Redis answers it, so a killed Redis (the fault suite does
that) loses no acknowledged task message, flag or unacknowledged delivery.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from perflab.procs import StartError, start_process
from perflab.settings import with_password

CONFIG = "redis.conf"


def write_config(data_dir: Path, password: str) -> Path:
    data_dir.mkdir(parents=True, exist_ok=True)
    config = data_dir / CONFIG
    fd = os.open(config, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(f"requirepass {password}\n")
    return config


def start(
    port: int, data_dir: Path, log_path: Path, password: str, *, persist: bool = True
) -> subprocess.Popen[bytes]:
    binary = shutil.which("redis-server")
    if binary is None:
        raise StartError("redis: redis-server not found (apt-get install redis-server)")
    config = write_config(data_dir, password)
    cmd = [
        binary, str(config),
        "--port", str(port),
        "--bind", "127.0.0.1",
        "--dir", str(data_dir),
        "--save", "60 1" if persist else "",
        "--appendonly", "yes" if persist else "no",
        "--appendfsync", "everysec",
        "--protected-mode", "yes",
        "--daemonize", "no",
    ]  # fmt: skip
    return start_process(cmd, log_path=log_path)


def url(port: int, password: str, db: int = 0) -> str:
    return with_password(f"redis://127.0.0.1:{port}/{db}", password)
