"""Keep the load generator and the API off each other's core during an experiment.

On a small machine Locust and the API otherwise take turns on the same cores, and how
they happen to share them moves the figures from run to run. With two cores or more,
every thread of the API's processes (found by the port they listen on) goes to the
first core and Locust to the second, as `taskset` would do; the rest of the stack
(Postgres, Redis, the worker, Prometheus) keeps every core. Whatever was changed is
put back when the experiment ends.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import psutil

log = logging.getLogger(__name__)


@dataclass
class Split:
    api_cores: set[int]
    load_cores: set[int]
    api_pids: list[int] = field(default_factory=list)

    def describe(self) -> str:
        return (
            f"API processes {self.api_pids} on core(s) {sorted(self.api_cores)}, "
            f"Locust on core(s) {sorted(self.load_cores)}"
        )


def _listening_sockets(port: int) -> set[str]:
    """The inodes of the sockets listening on `port` (Linux's /proc/net tables)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as rows:
            for row in list(rows)[1:]:
                fields = row.split()
                local, state, inode = fields[1], fields[3], fields[9]
                if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:  # 0A: LISTEN
                    found.add(f"socket:[{inode}]")
    return found


# Processes that hold a published port only to pass its bytes on: Docker's userland
# proxy in front of a compose service. Its CPU and sockets are not the service's, which
# then counts as not local (its figures come from its own gauges).
FORWARDERS = frozenset({"docker-proxy", "rootlesskit", "slirp4netns"})


def api_roots(api: str) -> list[int]:
    """The processes serving `api` when it is local: every process holding its
    listening socket (a pre-fork server's master and workers all do). Not
    psutil.net_connections(): it names one owner per socket."""
    parts = urlsplit(api)
    if parts.hostname not in ("127.0.0.1", "localhost", "::1") or parts.port is None:
        return []
    return sorted(pid for pid, name in port_holders(parts.port) if name not in FORWARDERS)


def port_holders(port: int) -> list[tuple[int, str]]:
    """(pid, process name) of every process holding a socket listening on `port`."""
    sockets = _listening_sockets(port)
    holders = []
    for pid in psutil.pids() if sockets else []:
        with contextlib.suppress(OSError, psutil.Error):
            fds = f"/proc/{pid}/fd"
            if any(os.readlink(f"{fds}/{fd}") in sockets for fd in os.listdir(fds)):
                holders.append((pid, psutil.Process(pid).name()))
    return holders


def _tree(roots: list[int]) -> list[psutil.Process]:
    found: dict[int, psutil.Process] = {}
    for pid in roots:
        with contextlib.suppress(psutil.Error):
            root = psutil.Process(pid)
            found[pid] = root
            found.update((child.pid, child) for child in root.children(recursive=True))
    return list(found.values())


def api_pids(api: str) -> list[int]:
    """The API's processes (see `api_roots`) and all their children."""
    return tree_pids(api_roots(api))


def tree_pids(roots: list[int]) -> list[int]:
    """`roots` and all their children, as they are now."""
    return sorted(p.pid for p in _tree(roots))


def cpu_seconds(roots: list[int]) -> float | None:
    """CPU time (user + system) of `roots` and every descendant, from the OS: a live
    process's own, plus what each reaped child left to its parent."""
    total, seen = 0.0, False
    for proc in _tree(roots):
        with contextlib.suppress(psutil.Error):
            t = proc.cpu_times()
            total += t.user + t.system + t.children_user + t.children_system
            seen = True
    return total if seen else None


def _threads(pid: int) -> list[int]:
    # sched_setaffinity acts on one thread: every thread the process has now.
    return [t.id for t in psutil.Process(pid).threads()]


@contextmanager
def pinned(api: str, enabled: bool = True) -> Iterator[Split | None]:
    """The API's threads on the first core for the block, restored after it; yields
    the split (None when not pinning: disabled, one core, or the API is not local)."""
    cores = sorted(os.sched_getaffinity(0))
    pids = api_pids(api) if enabled and len(cores) >= 2 else []
    if not pids:
        yield None
        return
    split = Split(api_cores={cores[0]}, load_cores=set(cores[1:2]), api_pids=pids)
    before: dict[int, set[int]] = {}  # process -> its cores before
    try:
        for pid in pids:
            with contextlib.suppress(psutil.Error, OSError):
                before[pid] = os.sched_getaffinity(pid)
                for tid in _threads(pid):
                    os.sched_setaffinity(tid, split.api_cores)
        yield split
    finally:
        # Threads started meanwhile inherited the pin: every current thread goes back.
        for pid, cores_before in before.items():
            with contextlib.suppress(psutil.Error, OSError):  # gone is fine
                for tid in _threads(pid):
                    os.sched_setaffinity(tid, cores_before)
