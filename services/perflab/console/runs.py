"""Load runs and experiments started from the page: one at a time, bounded, watched.

A run is the lab's own CLI (`lab load ...` or `lab experiment ...`) as a child process,
so the page gets exactly what the terminal gets: the same reports under `results/`,
flags restored by the experiment itself. Progress is the elapsed share of the planned
time plus the tail of the run's output; the report link appears when it ends.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from perflab import catalog
from perflab.console.config import ServiceRef
from perflab.procs import pid_alive, stop_pid

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
EXPERIMENT_WARMUP_SECONDS = 2


class RunRequest(BaseModel):
    kind: Literal["load", "experiment"]
    service: str = Field(default="fastapi", max_length=40)
    # load: a scenario or technique name; experiment: the flag to flip.
    target: str = Field(default="mixed", pattern=r"^[a-z][a-z0-9_]{0,40}$")
    users: int = Field(default=10, ge=1)
    seconds: int = Field(default=30, ge=2)
    repeats: int = Field(default=1, ge=1)


class RunRefused(ValueError):
    """The run cannot start: out of bounds, busy, or a tool missing; the message says why."""


@dataclass
class Run:
    id: str
    request: RunRequest
    cmd: list[str]
    output: Path
    proc: subprocess.Popen[bytes]
    planned_seconds: float
    started: float = field(default_factory=time.time)
    ended: float | None = None
    cancelled: bool = False

    @property
    def log(self) -> Path:
        return self.output / "console-run.log"

    def poll(self) -> int | None:
        code = self.proc.poll()
        if code is not None and self.ended is None:
            self.ended = time.time()
        return code

    def state(self, results: Path) -> dict[str, Any]:
        code = self.poll()
        status = "running" if code is None else "cancelled" if self.cancelled else (
            "finished" if code == 0 else "failed"
        )  # fmt: skip
        elapsed = (self.ended or time.time()) - self.started
        report = None
        if code is not None and self.output.is_dir():
            report = "/reports/" + self.output.relative_to(results).as_posix()
        return {
            "id": self.id,
            "kind": self.request.kind,
            "target": self.request.target,
            "service": self.request.service,
            "users": self.request.users,
            "seconds": self.request.seconds,
            "status": status,
            "returncode": code,
            "elapsed": round(elapsed, 1),
            "planned": self.planned_seconds,
            "progress": 1.0 if code is not None else min(0.99, elapsed / self.planned_seconds),
            "tail": self.tail(),
            "report": report,
        }

    def tail(self, lines: int = 12) -> list[str]:
        try:
            text = self.log.read_text(errors="replace")
        except FileNotFoundError:
            return []
        # Rich redraws its progress line with \r: keep what a terminal would show.
        shown = [_ANSI.sub("", line.rsplit("\r", 1)[-1]) for line in text.splitlines()]
        return [line for line in shown if line.strip()][-lines:]


def tools_missing(kind: str) -> str | None:
    """Why this kind of run cannot start here (the compose app image has no Locust)."""
    wanted = ["locust"] + (["matplotlib"] if kind == "experiment" else [])
    missing = [name for name in wanted if importlib.util.find_spec(name) is None]
    if missing:
        return f"{', '.join(missing)} not installed where the console runs; use `lab {kind}`"
    return None


class Runs:
    """The one run slot of the console."""

    def __init__(self, results: Path, limits: Any) -> None:
        self.results = results
        self.limits = limits
        self.current: Run | None = None

    def check(self, req: RunRequest) -> None:
        lim = self.limits
        if req.kind == "experiment" or req.target in catalog.TECHNIQUES:
            # A service outside the catalog (a custom entry) is checked by its own run.
            service = req.service if req.service in catalog.SERVICES else None
            if why := catalog.unmeasurable([req.target], service):
                raise RunRefused(why)
        if req.users > lim.max_users:
            raise RunRefused(f"users: at most {lim.max_users}")
        cap = lim.max_load_seconds if req.kind == "load" else lim.max_experiment_seconds
        if req.seconds > cap:
            raise RunRefused(f"seconds: at most {cap} for a {req.kind} run")
        if req.kind == "experiment" and req.repeats > lim.max_experiment_repeats:
            raise RunRefused(f"repeats: at most {lim.max_experiment_repeats}")
        if self.current is not None and self.current.poll() is None:
            raise RunRefused(
                f"a {self.current.request.kind} run is already going ({self.current.id}); "
                "one at a time"
            )
        why = tools_missing(req.kind)
        if why:
            raise RunRefused(why)

    def command(
        self, req: RunRequest, service: ServiceRef, flags_api: str, prometheus: str, out: Path
    ) -> list[str]:
        """The CLI line of the run: load or measure `service`; flags flip at `flags_api`
        (Django's and Flask's /flags are read-only: the API flips for every service)."""
        base = [sys.executable, "-m", "perflab.lab.cli"]
        if req.kind == "load":
            return base + [
                "load", "--scenario", req.target, "--users", str(req.users),
                "--spawn-rate", str(req.users), "--duration", f"{req.seconds}s",
                "--host", service.url, "--output", str(out),
            ]  # fmt: skip
        # Figures are kept to the service's own series by its catalog name.
        named = ["--service", service.name] if service.name in catalog.SERVICES else []
        return base + [
            "experiment", req.target, "--duration", f"{req.seconds}s",
            "--warmup", str(EXPERIMENT_WARMUP_SECONDS), "--repeats", str(req.repeats),
            "--users", str(req.users), *named, "--target", service.url, "--api", flags_api,
            "--prometheus", prometheus, "--output", str(out),
        ]  # fmt: skip

    def start(self, req: RunRequest, service: ServiceRef, flags_api: str, prometheus: str) -> Run:
        self.check(req)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        run_id, n = f"{req.kind}-{stamp}-console", 1
        while (self.results / run_id).exists():  # a second run within the same second
            n += 1
            run_id = f"{req.kind}-{stamp}-console-{n}"
        out = self.results / run_id
        out.mkdir(parents=True)
        cmd = self.command(req, service, flags_api, prometheus, out)
        if req.kind == "load":
            planned = req.seconds + 5.0
        else:
            arm = EXPERIMENT_WARMUP_SECONDS + req.seconds + 3
            planned = req.repeats * 2 * arm + 15.0
        with open(out / "console-run.log", "wb") as log:
            proc = subprocess.Popen(
                cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True,
            )  # fmt: skip
        self.current = Run(run_id, req, cmd, out, proc, planned)
        return self.current

    def cancel(self) -> Run | None:
        run = self.current
        if run is None or run.poll() is not None:
            return None
        run.cancelled = True
        # SIGTERM: Locust writes its reports, the experiment restores its flags.
        stop_pid(run.proc.pid, timeout=30)
        run.proc.wait(timeout=5)
        return run

    def close(self) -> None:
        if self.current is not None and pid_alive(self.current.proc.pid):
            self.cancel()
