"""Process primitives shared by the native runner, the benchmarks, the test fixtures and
the metrics reaper (a bottom-layer module: it imports nothing from perflab).

Processes start in their own session (so a stop reaches their children), log to a
file, and are stopped by PID only: the lab never kills what it did not start.
"""

from __future__ import annotations

import contextlib
import functools
import os
import random
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

UNPRIVILEGED_USER = "postgres"


class StartError(RuntimeError):
    """A component could not start; the message names it and its log file."""


# Ports this process has handed out: one picked but not yet bound (a service still
# starting) must not be handed out again.
_handed_out: set[int] = set()


@functools.cache
def ephemeral_port_range() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999


def free_port() -> int:
    """A free loopback port below the kernel's ephemeral range.

    A port from `bind(0)` lies in the ephemeral range, where any outgoing connection
    may take it as its local port before the service it was picked for binds it (a
    worker's metrics port was lost that way). Below the range only an explicit bind
    takes a port, and this process never hands the same one out twice.
    """
    low, _ = ephemeral_port_range()
    candidates = list(range(max(1024, low - 12_000), low))
    random.shuffle(candidates)
    for port in candidates:
        if port in _handed_out:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    raise StartError("no free loopback port below the ephemeral range")


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


def is_root() -> bool:
    return os.geteuid() == 0


def start_process(
    cmd: Sequence[str],
    *,
    log_path: Path,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    as_user: str | None = None,
) -> subprocess.Popen[bytes]:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log = open(log_path, "ab")  # noqa: SIM115 - handed to the child, closed below
    try:
        return subprocess.Popen(
            list(cmd),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            start_new_session=True,
            user=as_user,
            group=as_user,
            extra_groups=[] if as_user else None,
        )
    except FileNotFoundError as exc:
        raise StartError(f"{cmd[0]}: binary not found") from exc
    finally:
        log.close()


def pid_alive(pid: int, *, reap: bool = True) -> bool:
    """Whether `pid` runs; a zombie counts as dead. `reap=True` also reaps it when it
    is our child; `reap=False` where another owner must see the exit status (Celery's
    main process checking on billiard's pool processes)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    if reap:
        with contextlib.suppress(ChildProcessError):
            done, _ = os.waitpid(pid, os.WNOHANG)
            if done == pid:
                return False
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ", 1)[1][0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def stop_pid(pid: int, *, timeout: float = 10.0, sig: int = signal.SIGTERM) -> None:
    """Signal the process group led by `pid` (our own session), then SIGKILL on timeout."""
    if not pid_alive(pid):
        return
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)


def wait_until(
    check: Callable[[], bool],
    *,
    timeout: float,
    interval: float = 0.1,
    alive: Callable[[], bool] | None = None,
) -> bool:
    """Poll `check` until true; give up early when `alive` says the process died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return True
        except Exception:  # noqa: BLE001 - a health probe failing just means "not yet"
            pass
        if alive is not None and not alive():
            return False
        time.sleep(interval)
    return False


def tcp_ready(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def chown_for(path: Path, user: str) -> None:
    import pwd

    entry = pwd.getpwnam(user)
    os.chown(path, entry.pw_uid, entry.pw_gid)
