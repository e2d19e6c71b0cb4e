"""`lab fault`: take one component of the running lab down, bring it back, and report.

Faults (native lab; `lab fault --docker` does the same to the compose services):

    postgres      SIGKILL of the postmaster (a crash), restarted after --for seconds
    redis         SIGKILL of redis-server, restarted after --for seconds
    worker        SIGKILL of the Celery worker and its pool, restarted after --for seconds
    worker-child  SIGKILL of one Celery pool process; Celery replaces it by itself
    api-worker    SIGKILL of one worker process of the probed service (uvicorn's or
                  gunicorn's); its master replaces it by itself

While it lasts, a probe (`fault_probe`) sends steady traffic and sorts every answer.
The report says what the service did: requests, errors by kind and route, how long
after the component was back the last error came (recovery), and the tasks: enqueued
during the run, completed exactly once, lost (must be 0). The same figures are
exported as `perflab_fault_*` series for Prometheus while the run lasts (see
`fault_metrics`). docs/faults.md says what each fault should do and why.
"""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
import psutil

from perflab.lab import pidfiles, services
from perflab.lab.components import Component, LabContext
from perflab.lab.fault_probe import Probe, routes_for
from perflab.lab.services import Service
from perflab.procs import StartError, pid_alive, wait_until

FAULTS = ("postgres", "redis", "worker", "worker-child", "api-worker")
# Self-healing faults: the component's own supervisor restarts the process.
INSTANT = ("worker-child", "api-worker")
# A dead worker's delivered tasks come back after the visibility timeout (30 s) and
# one restore sweep (5 s); tasks get that long, plus slack, after the fault ends.
TASK_GRACE_SECONDS = 60.0
RESTART_TIMEOUT_SECONDS = 60.0


@dataclass
class FaultReport:
    component: str
    down_seconds: float
    requests: int
    errors: Counter[tuple[str, str]]  # (route, kind) -> count
    recovery_seconds: float  # from the component being back to the last error (0: none)
    tasks_enqueued: int
    tasks_completed: int  # ended SUCCESS with exactly one confirmation row
    tasks_lost: int
    counters_went_back: list[str] = field(default_factory=list)
    service: str = "fastapi"  # the web service the probe loaded

    def errors_by_kind(self) -> Counter[str]:
        kinds: Counter[str] = Counter()
        for (_, kind), count in self.errors.items():
            kinds[kind] += count
        return kinds

    def as_dict(self) -> dict[str, object]:
        return {
            "component": self.component,
            "service": self.service,
            "down_seconds": round(self.down_seconds, 2),
            "requests": self.requests,
            "errors_by_kind": dict(self.errors_by_kind()),
            "errors_by_route": {f"{route} {kind}": n for (route, kind), n in self.errors.items()},
            "recovery_seconds": round(self.recovery_seconds, 2),
            "tasks_enqueued": self.tasks_enqueued,
            "tasks_completed": self.tasks_completed,
            "tasks_lost": self.tasks_lost,
            "counters_went_back": self.counters_went_back,
        }


# -- native injection ------------------------------------------------------------------


def _component(components: list[Component], name: str) -> Component:
    return next(c for c in components if c.name == name)


def _running(component: Component) -> int:
    pid = component.running_pid()
    if pid is None:
        raise StartError(f"{component.name} is not running (lab up first)")
    return pid


def _kill_tree(pid: int) -> list[int]:
    """SIGKILL `pid` only (a crash); return its children, which may outlive it briefly."""
    children = [child.pid for child in psutil.Process(pid).children(recursive=True)]
    os.kill(pid, signal.SIGKILL)
    return children


def _restart(component: Component) -> None:
    # No `prepare`: the worker's metrics files (counters) survive, as after a real crash.
    proc = component.start()
    pidfiles.write(component.pid_file, proc.pid)
    ok = wait_until(
        component.healthy,
        timeout=RESTART_TIMEOUT_SECONDS,
        interval=0.2,
        alive=lambda: pid_alive(proc.pid),
    )
    if not ok:
        raise StartError(f"{component.name}: not healthy again, see {component.log}")


def _children(pid: int, needle: str = "") -> list[int]:
    return [
        child.pid for child in psutil.Process(pid).children() if needle in " ".join(child.cmdline())
    ]


@dataclass
class Injection:
    """Takes a component down (`down`) and brings it back (`up`; returns when healthy)."""

    down: Callable[[], None]
    up: Callable[[], None]


def native_injection(
    ctx: LabContext, components: list[Component], fault: str, service: Service | None = None
) -> Injection:
    """`service`: whose worker process `api-worker` kills (default: the FastAPI API)."""
    service = service or services.by_name(services.DEFAULT)
    if fault in ("postgres", "redis"):
        component = _component(components, fault)
        orphans: list[int] = []

        def down() -> None:
            orphans[:] = _kill_tree(_running(component))

        def up() -> None:
            # Postgres backends notice their postmaster died and exit; the new one
            # cannot start while they hold its shared memory.
            wait_until(lambda: not any(pid_alive(p) for p in orphans), timeout=15)
            _restart(component)

        return Injection(down, up)
    if fault == "worker":
        worker = _component(components, "worker")

        def down_worker() -> None:
            os.killpg(_running(worker), signal.SIGKILL)  # the main process and its pool

        return Injection(down_worker, lambda: _restart(worker))
    if fault == "worker-child":
        worker = _component(components, "worker")
        main = _running(worker)

        def down_child() -> None:
            os.kill(_children(main)[0], signal.SIGKILL)

        def up_child() -> None:
            want = ctx.cfg.lab.worker_concurrency
            wait_until(lambda: len(_children(main)) >= want, timeout=RESTART_TIMEOUT_SECONDS)

        return Injection(down_child, up_child)
    if fault == "api-worker":
        main = _running(_component(components, service.job))
        mark, ready = service.worker_mark, f"{service.url(ctx.ports)}/readyz"

        def down_api() -> None:
            os.kill(_children(main, mark)[0], signal.SIGKILL)

        def up_api() -> None:
            want = ctx.cfg.lab.api_workers
            wait_until(
                lambda: (
                    len(_children(main, mark)) >= want
                    and httpx.get(ready, timeout=2).status_code == 200
                ),
                timeout=RESTART_TIMEOUT_SECONDS,
            )

        return Injection(down_api, up_api)
    raise ValueError(f"unknown fault {fault!r}; one of: {', '.join(FAULTS)}")


# -- a run -------------------------------------------------------------------------------

BASELINE_SECONDS = 2.0  # traffic before the fault, so "errors" are the fault's
AFTER_SECONDS = 6.0  # traffic after the component is back: recovery shows here


def run_fault(
    ctx: LabContext,
    fault: str,
    injection: Injection,
    seconds: float,
    *,
    api_url: str | None = None,
    service: Service | None = None,
    metrics_urls: list[str] | None = None,
    dsn: str | None = None,
    rate: float = 20.0,
    token: str | None = None,
    say: Callable[[str], object] = print,
    on_phase: Callable[[str], object] = lambda _: None,
) -> FaultReport:
    """`api_url`: the FastAPI API, where task states are read (default: the native lab's);
    `service`: the native lab's service the probe loads, on the routes it serves (default:
    the API at `api_url`); `metrics_urls`: whose counters must never go back (default:
    the probed service's and the worker's); `dsn`: the database to count confirmation
    rows in (None: states only)."""
    api_url = api_url or ctx.api_url
    probed = service or services.by_name(services.DEFAULT)
    probe_url = service.url(ctx.ports) if service else api_url
    if metrics_urls is None:
        metrics_urls = [f"{probe_url}/metrics", f"{ctx.url(ctx.ports.worker_metrics)}/metrics"]
    probe = Probe(
        probe_url, metrics_urls, rate=rate, token=token, routes=routes_for(probed.name)
    ).start()
    try:
        time.sleep(BASELINE_SECONDS)
        say(f"fault: {fault} down")
        on_phase("down")
        went_down = time.monotonic()
        injection.down()
        if fault not in INSTANT:
            time.sleep(seconds)
            say(f"fault: bringing {fault} back")
        injection.up()
        back = time.monotonic()
        on_phase("back")
        say(f"fault: {fault} healthy again after {back - went_down:.1f} s")
        time.sleep(AFTER_SECONDS)
    finally:
        tally = probe.stop()
    say(f"fault: waiting for the {len(tally.task_ids)} tasks enqueued during the run")
    completed = completed_tasks(api_url, dsn, tally.task_ids, TASK_GRACE_SECONDS)
    last_error = max(tally.error_times, default=back)
    return FaultReport(
        component=fault,
        down_seconds=back - went_down,
        requests=tally.requests,
        errors=tally.errors(),
        recovery_seconds=max(0.0, last_error - back),
        tasks_enqueued=len(tally.task_ids),
        tasks_completed=len(completed),
        tasks_lost=len(set(tally.task_ids) - completed),
        counters_went_back=tally.counters_went_back(),
        service=probed.name,
    )


def completed_tasks(api_url: str, dsn: str | None, task_ids: list[str], grace: float) -> set[str]:
    """The tasks that ended SUCCESS and (given the database) stored exactly one
    confirmation row."""
    import asyncio

    import asyncpg

    if not task_ids:
        return set()
    pending = set(task_ids)
    deadline = time.monotonic() + grace
    with httpx.Client(base_url=api_url, timeout=5) as http:
        while pending and time.monotonic() < deadline:
            for task_id in list(pending):
                try:
                    state = http.get(f"/tasks/{task_id}").json().get("state")
                except (httpx.HTTPError, ValueError):
                    continue
                if state == "SUCCESS":
                    pending.discard(task_id)
            if pending:
                time.sleep(1.0)
    succeeded = set(task_ids) - pending
    if dsn is None:
        return succeeded

    async def rows() -> dict[str, int]:
        conn = await asyncpg.connect(dsn)
        try:
            found = await conn.fetch(
                "SELECT task_id, count(*) AS n FROM order_confirmations"
                " WHERE task_id = ANY($1::text[]) GROUP BY task_id",
                list(succeeded),
            )
        finally:
            await conn.close()
        return {r["task_id"]: r["n"] for r in found}

    stored = asyncio.run(rows())
    return {task_id for task_id in succeeded if stored.get(task_id) == 1}
