"""What `lab profile TARGET` can sample, and how its processes are found.

A target is a service of the lab. Natively its processes are found from the lab's pid
file (the process the runner started, checked to still be ours) or, for a web service
started some other way (a test, a hand-run uvicorn), from the process that listens on
its port: the topmost one holding the listening socket. Its *serving* processes are
the ones that do the work: a web service's children that hold the listening socket
(uvicorn's and gunicorn's workers; the process itself when it has none), a Celery
worker's pool processes. Under Docker a target is a compose service, sampled inside
its container. A new service is one `Target` line (its component in lab/apps.py).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass

import psutil

from perflab.lab import apps
from perflab.lab.components import Component, LabContext


class TargetError(RuntimeError):
    """The target is unknown or not running; the message says what to do."""


@dataclass(frozen=True)
class Target:
    name: str
    summary: str
    component: Callable[[LabContext], Component]  # the native lab's component
    port_key: str | None  # `Ports` field of the port it serves; None: not a web service
    compose_service: str

    @property
    def web(self) -> bool:
        return self.port_key is not None


TARGETS: dict[str, Target] = {
    t.name: t
    for t in (
        Target("api", "the FastAPI service's uvicorn workers", apps.api, "api", "api"),
        Target("django", "the Django service's gunicorn workers", apps.django, "django", "django"),
        Target("flask", "the Flask service's gunicorn workers", apps.flask, "flask", "flask"),
        Target("worker", "the Celery worker and its pool processes", apps.worker, None, "worker"),
    )
}


@dataclass(frozen=True)
class Processes:
    root: int  # what py-spy is pointed at (with --subprocesses to cover the rest)
    serving: tuple[int, ...]  # the processes doing the work
    found: str  # how the root was found, for the report


def get(name: str) -> Target:
    try:
        return TARGETS[name]
    except KeyError:
        raise TargetError(f"unknown target {name!r}; one of: {', '.join(TARGETS)}") from None


def listens(proc: psutil.Process, port: int) -> bool:
    try:
        connections = proc.net_connections(kind="tcp")
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return False
    return any(c.status == psutil.CONN_LISTEN and c.laddr.port == port for c in connections)


def listener(port: int) -> int | None:
    """The topmost process holding a listening socket on `port` (uvicorn's supervisor)."""
    found = None
    with contextlib.suppress(psutil.AccessDenied):
        for conn in psutil.net_connections(kind="tcp"):
            if conn.status == psutil.CONN_LISTEN and conn.laddr.port == port and conn.pid:
                found = conn.pid
                break
    if found is None:
        return None
    proc = psutil.Process(found)
    parent = proc.parent()
    while parent is not None and listens(parent, port):
        proc, parent = parent, parent.parent()
    return proc.pid


def serving(root: int, port: int | None) -> tuple[int, ...]:
    try:
        children = psutil.Process(root).children()
    except psutil.NoSuchProcess:
        raise TargetError(f"pid {root} is gone") from None
    if port is not None:
        children = [c for c in children if listens(c, port)]
    return tuple(c.pid for c in children) or (root,)


def find(target: Target, ctx: LabContext, pid: int | None = None) -> Processes:
    """The target's processes on this machine (native lab, or `pid` when given)."""
    port = getattr(ctx.ports, target.port_key) if target.port_key else None
    if pid is not None:
        if not psutil.pid_exists(pid):
            raise TargetError(f"no process with pid {pid}")
        return Processes(pid, serving(pid, port), "--pid")
    component = target.component(ctx)
    try:
        root = component.running_pid()
    finally:
        if component.close is not None:
            component.close()
    if root is not None:
        return Processes(root, serving(root, port), f"pid file {component.pid_file}")
    if port is not None:
        root = listener(port)
        if root is not None:
            return Processes(root, serving(root, port), f"listening on port {port}")
    where = f" and nothing listens on port {port}" if port is not None else ""
    raise TargetError(
        f"{target.name} is not running: no live pid in {component.pid_file}{where}. "
        "Start the lab (./scripts/lab up), point at a process with --pid, "
        "or use --docker for the compose stack."
    )


def busiest(pids: tuple[int, ...], seconds: float = 1.0) -> tuple[int, dict[int, float]]:
    """The process using the most CPU over `seconds`, and every one's CPU percent."""
    procs = {pid: psutil.Process(pid) for pid in pids}
    for proc in procs.values():
        proc.cpu_percent(None)  # starts the measurement
    time.sleep(seconds)
    usage = {}
    for pid, proc in procs.items():
        with contextlib.suppress(psutil.NoSuchProcess):
            usage[pid] = proc.cpu_percent(None)
    if not usage:
        raise TargetError("every serving process exited while being measured")
    return max(usage, key=lambda p: usage[p]), usage
