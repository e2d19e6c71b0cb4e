"""`lab fault --docker`: the same faults on the compose stack's containers.

postgres, redis and worker are killed with `docker compose kill -s SIGKILL` and
started again with `docker compose start`; worker-child and api-worker kill one
child process inside the container (Celery and uvicorn replace it). The probe goes
through the published gateway; Postgres is not published, so tasks are judged by
their state alone, and the figures are not exported to the compose Prometheus.
"""

from __future__ import annotations

import time

import httpx

from perflab.lab.docker import ComposeStack, DockerError
from perflab.lab.faults import RESTART_TIMEOUT_SECONDS, Injection
from perflab.procs import wait_until

__all__ = ["DockerError", "api_url", "injection"]

_KILL_CHILD = (
    "import os, signal, psutil; "
    "kids = [p for p in psutil.Process(1).children() if {needle!r} in ' '.join(p.cmdline())]; "
    "os.kill(kids[0].pid, signal.SIGKILL)"
)
_SERVICE = {"postgres": "postgres", "redis": "redis", "worker": "worker"}


def _healthy(stack: ComposeStack, service: str) -> bool:
    rows = [row for row in stack.status() if row.service == service]
    return bool(rows) and all(row.ok for row in rows)


def injection(fault: str) -> Injection:
    stack = ComposeStack(quiet=True)
    if fault in _SERVICE:
        service = _SERVICE[fault]

        def up() -> None:
            stack.run("start", service, timeout=120)
            if not wait_until(lambda: _healthy(stack, service), timeout=RESTART_TIMEOUT_SECONDS):
                raise DockerError(f"{service}: not healthy again (docker compose logs {service})")

        def down() -> None:
            stack.run("kill", "-s", "SIGKILL", service, timeout=60)

        return Injection(down, up)
    service, needle = {"worker-child": ("worker", ""), "api-worker": ("api", "spawn_main")}[fault]

    def down_child() -> None:
        code = _KILL_CHILD.format(needle=needle)
        stack.run("exec", "-T", service, "python", "-c", code, timeout=60)

    def back() -> None:
        time.sleep(2)  # Celery / uvicorn notice and replace the process
        wait_until(lambda: _healthy(stack, service), timeout=RESTART_TIMEOUT_SECONDS)

    return Injection(down_child, back)


def api_url() -> str:
    """The gateway's published URL (the probe and its /metrics go there)."""
    api = ComposeStack().urls()["api"]
    httpx.get(f"{api}/healthz", timeout=5).raise_for_status()
    return api
