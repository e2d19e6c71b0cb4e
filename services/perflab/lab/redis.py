"""A private Redis server on loopback."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from perflab.procs import StartError, start_process


def start(
    port: int, data_dir: Path, log_path: Path, *, persist: bool = True
) -> subprocess.Popen[bytes]:
    binary = shutil.which("redis-server")
    if binary is None:
        raise StartError("redis: redis-server not found (apt-get install redis-server)")
    data_dir.mkdir(parents=True, exist_ok=True)
    cmd = [
        binary,
        "--port", str(port),
        "--bind", "127.0.0.1",
        "--dir", str(data_dir),
        "--save", "60 1" if persist else "",
        "--appendonly", "no",
        "--protected-mode", "yes",
        "--daemonize", "no",
    ]  # fmt: skip
    return start_process(cmd, log_path=log_path)
