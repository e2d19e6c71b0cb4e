"""Bytes a local service has received from Postgres, per TCP connection, as the kernel
counts them (`tcpi_bytes_received`, read with iproute2's `ss`).

What `SELECT *` costs is on the wire before it is anywhere else: this reads it without
touching the driver. A connection is the service's when one of its processes holds the
socket, and Postgres' when the process at the other end is named `postgres`, so no
port needs to be known. Only established connections are seen: the bytes of one that
closed are gone with it (the figure says so instead of undercounting).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Collection
from dataclasses import dataclass

_OWNER = re.compile(r'\("([^"]+)",pid=(\d+),')
_RECEIVED = re.compile(r"\bbytes_received:(\d+)")


@dataclass(frozen=True)
class Connection:
    local: str  # address:port
    peer: str
    owners: frozenset[tuple[str, int]]  # (process name, pid) holding the socket
    received: int  # bytes


def parse(text: str) -> list[Connection]:
    """`ss -tinpH state established`: a line per socket (Recv-Q, Send-Q, local, peer,
    users), then an indented line of TCP info."""
    found: list[Connection] = []
    head: list[str] | None = None
    for line in text.splitlines():
        if not line.strip():
            continue
        if not line[0].isspace():
            head = line.split(maxsplit=4)
            continue
        if head is None or len(head) < 4:
            continue
        received = _RECEIVED.search(line)
        users = head[4] if len(head) > 4 else ""
        owners = frozenset((name, int(pid)) for name, pid in _OWNER.findall(users))
        found.append(Connection(head[2], head[3], owners, int(received[1]) if received else 0))
        head = None
    return found


def available() -> bool:
    return shutil.which("ss") is not None


def read() -> list[Connection] | None:
    """Every established TCP connection of this machine (None: no `ss` here)."""
    ss = shutil.which("ss")
    if ss is None:
        return None
    done = subprocess.run(
        [ss, "-tinpH", "state", "established"], capture_output=True, text=True, timeout=10
    )
    return parse(done.stdout) if done.returncode == 0 else None


def received_from_postgres(connections: list[Connection], pids: Collection[int]) -> dict[str, int]:
    """Bytes received per connection (by its local address) that a process in `pids`
    holds and whose other end a `postgres` process holds."""
    postgres_ends = {
        c.local for c in connections if any(name == "postgres" for name, _ in c.owners)
    }
    wanted = set(pids)
    return {
        c.local: c.received
        for c in connections
        if c.peer in postgres_ends and any(pid in wanted for _, pid in c.owners)
    }
