"""Pid files of the lab's components, and the check that a pid is still ours.

A pid recorded yesterday may belong to another program today (pids are recycled), so
a pid only counts as the lab's when `/proc/<pid>/cmdline` still holds one of the tokens
the component was started with (its data folder, config path or module name).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from pathlib import Path

from perflab.procs import pid_alive


def write(path: Path, pid: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"{pid}\n")


def read(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None


def remove(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def cmdline(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ""
    return raw.replace(b"\0", b" ").decode(errors="replace")


def owned(pid: int, tokens: Iterable[str]) -> bool:
    """True when `pid` is alive and is still the process the lab started."""
    if not pid_alive(pid):
        return False
    line = cmdline(pid)
    return any(token in line for token in tokens)


def running_pid(path: Path, tokens: Iterable[str]) -> int | None:
    pid = read(path)
    return pid if pid is not None and owned(pid, tokens) else None
