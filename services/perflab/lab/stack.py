"""The native stack: start every component in order, wait for health, seed, stop by PID.

`up` is idempotent (what already runs and answers is left alone) and all-or-nothing:
a failure stops whatever this call started, so nothing is left half-running.
"""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field

from perflab.lab import apps, console_app, datastores, monitoring, pidfiles, system
from perflab.lab import postgres as pg
from perflab.lab import secrets as lab_secrets
from perflab.lab.components import Component, LabContext
from perflab.lab.config import Ports
from perflab.lab.report import StartupView, Status
from perflab.lab.services import SERVICES
from perflab.procs import StartError, pid_alive, port_in_use, stop_pid, wait_until

BUILDERS: tuple[Callable[[LabContext], Component], ...] = (
    datastores.postgres,
    datastores.redis,
    *(service.build for service in SERVICES),
    apps.worker,
    monitoring.prometheus,
    monitoring.alertmanager,
    apps.locust,
    monitoring.grafana,
    console_app.console,
)
# Each tier starts together once the one before is healthy. The seed runs with the
# second tier: the API's startup changes the schema (db_index), which must not race
# the seed's transaction, so the database's clients (every web service, the worker)
# start only after it.
TIERS = (
    ("postgres", "redis"),
    ("prometheus", "alertmanager", "locust", "grafana", "console"),
    (*(service.job for service in SERVICES), "worker"),
)


@dataclass
class SeedResult:
    seeded: bool
    seconds: float


@dataclass
class UpResult:
    seed: SeedResult
    # Every component, healthy or not installed, as `up` left it.
    rows: list[Status]
    started: list[str] = field(default_factory=list)
    already_running: list[str] = field(default_factory=list)


class Stack:
    def __init__(self, ctx: LabContext) -> None:
        self.ctx = ctx
        self.components = [build(ctx) for build in BUILDERS]

    def close(self) -> None:
        for component in self.components:
            if component.close is not None:
                component.close()

    # -- up -------------------------------------------------------------------------

    def up(self, view: StartupView, seed_scale: float) -> UpResult:
        missing = system.missing_packages(self.components)
        if missing:
            system.ensure(missing, say=view.say)
            self.components = [build(self.ctx) for build in BUILDERS]
        self._prepare_state_dir()
        installed = [c for c in self.components if c.binary is not None]
        todo = [c for c in installed if c.running_pid() is None]
        self._check_ports(todo)
        started: list[Component] = []
        try:
            with view:
                for component in self.components:
                    view.add(component, installed=component in installed)
                    if component.name == TIERS[0][-1]:
                        view.add_seed(seed_scale)
                tiers = [[c for c in installed if c.name in names] for names in TIERS]
                self._bring_up(tiers[0], todo, started, view)
                view.seeding()
                with ThreadPoolExecutor(max_workers=1) as pool:
                    seeding = pool.submit(self._seed, seed_scale)
                    self._bring_up(tiers[1], todo, started, view)
                    seeded = seeding.result()
                view.seeded(seeded.seeded, seeded.seconds)
                self._bring_up(tiers[2], todo, started, view)
        except BaseException:
            self._stop(reversed(started))
            raise
        names = {c.name for c in started}
        rows = [
            Status(c, c.running_pid(), "healthy")
            if c in installed
            else Status(c, None, "not installed")
            for c in self.components
        ]
        return UpResult(
            seeded,
            rows,
            started=[c.name for c in installed if c.name in names],
            already_running=[c.name for c in installed if c.name not in names],
        )

    def _prepare_state_dir(self) -> None:
        root = self.ctx.paths.root
        root.mkdir(parents=True, exist_ok=True)
        # Postgres runs as another user when we are root: it must be able to enter.
        root.chmod(0o755)
        self.ctx.paths.marker.touch()
        self.ctx.secrets.ensure()

    def _check_ports(self, todo: list[Component]) -> None:
        taken = [
            f"{c.name}: port {port} is already in use "
            f"(set {Ports.env_var(key)} to use another port)"
            for c in todo
            for key, port in c.ports().items()
            if port_in_use(port)
        ]
        if taken:
            raise StartError("\n".join(taken))

    def _bring_up(
        self,
        tier: list[Component],
        todo: list[Component],
        started: list[Component],
        view: StartupView,
    ) -> None:
        pids: dict[str, int] = {}
        for component in tier:
            if component in todo:
                if component.prepare is not None:
                    component.prepare()
                proc = component.start()
                pidfiles.write(component.pid_file, proc.pid)
                started.append(component)
                pids[component.name] = proc.pid
                view.starting(component, proc.pid)
            else:
                pid = component.running_pid()
                assert pid is not None
                pids[component.name] = pid
                view.already_running(component, pid)
        # Not `with`: on a failure we must not wait for the other probes to time out.
        pool = ThreadPoolExecutor(max_workers=max(1, len(tier)))
        try:
            waits = {pool.submit(self._await_health, c, pids[c.name]): c for c in tier}
            for done in as_completed(waits):
                component, error = waits[done], done.result()
                if error:
                    view.failed(component)
                    raise StartError(error)
                view.healthy(component)
        finally:
            pool.shutdown(wait=False, cancel_futures=True)

    def _await_health(self, component: Component, pid: int) -> str | None:
        timeout = self.ctx.cfg.lab.startup_timeout_seconds
        ok = wait_until(
            component.healthy, timeout=timeout, interval=0.2, alive=lambda: pid_alive(pid)
        )
        if ok:
            return None
        if not pid_alive(pid):
            return f"{component.name}: exited during startup, see {component.log}"
        return f"{component.name}: not healthy after {timeout:.0f} s, see {component.log}"

    def _seed(self, scale: float) -> SeedResult:
        """Create the database, apply the schema, and seed unless already at this scale."""
        import asyncpg

        from perflab.db.seed import seed

        secrets = self.ctx.secrets
        superuser = secrets.value(lab_secrets.POSTGRES_SUPERUSER)
        app_password = secrets.value(lab_secrets.POSTGRES_APP)

        async def run() -> bool:
            await pg.ensure_database(self.ctx.ports.postgres, superuser, app_password)
            # As the application role: it owns what the seed creates.
            conn = await asyncpg.connect(self.ctx.service_settings().db.dsn)
            try:
                return await seed(conn, scale)
            finally:
                await conn.close()

        began = time.perf_counter()
        try:
            seeded = asyncio.run(run())
        except Exception as exc:
            reason = (str(exc) or type(exc).__name__).splitlines()[0]
            log = self.ctx.paths.log_file("postgres")
            raise StartError(f"seed: failed ({reason}), see {log}") from exc
        return SeedResult(seeded, time.perf_counter() - began)

    # -- down and status ------------------------------------------------------------

    def down(self, purge: bool, say: Callable[[str], None]) -> None:
        self._stop(reversed(self.components), say)
        if purge:
            root = self.ctx.paths.root
            if not root.exists():
                return
            if not self.ctx.paths.marker.exists():
                raise StartError(f"not purging {root}: it is not a lab state folder")
            shutil.rmtree(root)
            say(f"removed {root}")

    def _stop(
        self, components: Iterable[Component], say: Callable[[str], None] | None = None
    ) -> None:
        for component in components:
            pid = pidfiles.read(component.pid_file)
            if pid is None:
                continue
            if pidfiles.owned(pid, component.match):
                stop_pid(pid, sig=component.stop_signal, timeout=20)
                if say:
                    say(f"stopped {component.name} (pid {pid})")
            elif say and pid_alive(pid):
                say(f"left pid {pid} alone: it is no longer the lab's {component.name}")
            pidfiles.remove(component.pid_file)

    def status(self) -> list[Status]:
        def one(component: Component) -> Status:
            if component.binary is None:
                return Status(component, None, "not installed")
            pid = component.running_pid()
            if pid is None:
                return Status(component, None, "stopped")
            return Status(component, pid, "healthy" if component.probe() else "unhealthy")

        with ThreadPoolExecutor(max_workers=len(self.components)) as pool:
            return list(pool.map(one, self.components))
