"""`lab load`: a headless Locust run with a live progress line, a summary and reports.

Runs `locust -f loadgen/locustfile.py --headless ...` as a child process and, while it
runs, reads its load-side metrics endpoint for the progress line. Reports land in
`results/load-<timestamp>/` (or `--output`): `locust_stats.csv`, `locust_failures.csv`,
`locust_exceptions.csv`, `locust_stats_history.csv`, `report.html`, `locust.log` and
`summary.json`. The exit code is non-zero when any request failed or none was made.

`--processes N` runs Locust's own distributed mode on this machine: one master and N
worker processes (`-1`: one per core); the metrics endpoint is the master's and covers
every worker. Its series carry `run="<report folder name>"`. Inside the native lab,
the endpoint is registered with Prometheus through a file_sd target file
(`.lab/prometheus/loadgen/<run>.json`, see `prom_targets`) for as long as the run lasts;
with `--service` that target also carries `service="<name>"`, so the Load dashboard's
`$service` picks it. The `lab load` command itself is `load_cli`.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

import httpx
from rich.console import Console

from perflab.lab import load_report
from perflab.lab.config import REPO
from perflab.lab.load_progress import watch
from perflab.lab.prom_targets import prometheus_target
from perflab.procs import free_port, stop_pid

LOCUSTFILE = REPO / "loadgen" / "locustfile.py"
LOCUST_CONF = REPO / "loadgen" / "locust.conf"
RESULTS = REPO / "results"
SHAPES = ("ramp", "step", "spike", "soak")
_TIMESPAN = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s?)?$")


class LoadError(RuntimeError):
    """`lab load` cannot start: a bad option or an unreachable API; the message says which."""


def loadgen(module: str) -> ModuleType:
    """A standard-library-only module of `loadgen/` (never the Locust users themselves)."""
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    return importlib.import_module(f"loadgen.{module}")


def seconds(timespan: str) -> int:
    """Locust's run-time syntax: `90`, `30s`, `5m`, `1h30m`."""
    match = _TIMESPAN.match(timespan.strip())
    if not timespan.strip() or match is None:
        raise LoadError(f"bad duration {timespan!r}: use e.g. 30s, 5m, 1h30m")
    hours, minutes, secs = (int(part or 0) for part in match.groups())
    return hours * 3600 + minutes * 60 + secs


@dataclass
class LoadOptions:
    scenario: str = "mixed"
    shape: str | None = None
    users: int | None = None  # None: locust.conf / LOCUST_USERS
    spawn_rate: float | None = None
    duration: str | None = None  # None: the shape's own length, else 1m
    host: str = "http://127.0.0.1:8000"
    processes: int = 1
    output: Path | None = None
    metrics_port: int | None = None  # None: a free port
    # The lab's Prometheus file_sd folder; the run registers its metrics target there.
    prometheus_sd: Path | None = None
    service: str | None = None  # the web service under load (labels the metrics target)
    # That Prometheus: a finished run waits until its target is gone from it.
    prometheus_url: str | None = None


@dataclass
class LoadResult:
    output: Path
    returncode: int
    metrics_port: int
    rows: list[load_report.StatRow] = field(default_factory=list)
    total: load_report.StatRow | None = None
    failures: list[load_report.Failure] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        made = self.total is not None and self.total.requests > 0
        return self.returncode == 0 and made and not self.total.failures  # type: ignore[union-attr]


def check_options(opts: LoadOptions) -> None:
    if opts.shape is not None and opts.shape not in SHAPES:
        raise LoadError(f"unknown shape {opts.shape!r}; one of: {', '.join(SHAPES)}")
    if opts.duration is not None and seconds(opts.duration) <= 0:
        raise LoadError("--duration must be longer than 0 s")
    if opts.processes == 0 or opts.processes < -1:
        raise LoadError("--processes is a number of workers (>= 1), or -1 for one per core")
    scenarios = loadgen("scenarios")
    known = [*scenarios.SCENARIOS, *loadgen("recipes").TECHNIQUES]
    if opts.scenario in known:
        return
    listed = listed_techniques(opts.host)  # one the API added since still qualifies
    if opts.scenario not in listed:
        raise LoadError(
            f"unknown scenario {opts.scenario!r}; scenarios: {', '.join(scenarios.SCENARIOS)}; "
            f"or a technique: {', '.join(listed)}"
        )


def listed_techniques(host: str) -> list[str]:
    """The technique names `host` lists at /techniques (LoadError when it cannot say)."""
    try:
        answer = httpx.get(f"{host}/techniques", timeout=5).json()
        return [t["name"] for t in answer["techniques"]]
    except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
        raise LoadError(f"cannot list techniques at {host}/techniques: {exc}") from exc


def not_served(host: str, technique: str) -> str | None:
    """Why `host` cannot take `technique`'s load (None: it lists it, or cannot be asked,
    which the run itself then reports)."""
    try:
        listed = listed_techniques(host)
    except LoadError:
        return None
    if technique in listed:
        return None
    return f"{host} does not serve {technique}; it lists: {', '.join(listed)}"


def locust_command(opts: LoadOptions, out: Path) -> list[str]:
    prefix = out / "locust"
    cmd = [
        sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--config", str(LOCUST_CONF),
        "--headless", "--only-summary", "--host", opts.host,
        "--csv", str(prefix), "--csv-full-history", "--html", str(out / "report.html"),
    ]  # fmt: skip
    if opts.users is not None:
        cmd += ["--users", str(opts.users)]
    if opts.spawn_rate is not None:
        cmd += ["--spawn-rate", str(opts.spawn_rate)]
    if opts.duration is not None:
        cmd += ["--run-time", opts.duration]
    elif opts.shape is None:
        cmd += ["--run-time", "1m"]
    if opts.shape is not None:
        cmd += ["--shape", opts.shape]
    if opts.processes != 1:
        cmd += ["--processes", str(opts.processes)]
    return cmd + loadgen("scenarios").locust_args(opts.scenario)


def new_results_dir() -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path, n = RESULTS / f"load-{stamp}", 1
    while path.exists():
        n += 1
        path = RESULTS / f"load-{stamp}-{n}"
    return path


def run_load(opts: LoadOptions, console: Console | None = None) -> LoadResult:
    console = console or Console()
    check_options(opts)
    out = opts.output or new_results_dir()
    out.mkdir(parents=True, exist_ok=True)
    port = opts.metrics_port if opts.metrics_port is not None else free_port()
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    env |= {"PERFLAB_LOADGEN_METRICS_PORT": str(port), "PERFLAB_LOADGEN_RUN": out.name}
    with (
        prometheus_target(
            opts.prometheus_sd,
            port,
            out.name,
            opts.prometheus_url,
            {"service": opts.service} if opts.service else None,
        ),
        open(out / "locust.log", "wb") as log,
    ):
        proc = subprocess.Popen(
            locust_command(opts, out), stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, cwd=REPO, env=env, start_new_session=True,
        )  # fmt: skip
        try:
            label = opts.scenario + (f" · {opts.shape}" if opts.shape else "")
            planned = seconds(opts.duration) if opts.duration else None
            watch(proc, port, console, label, planned)
        except KeyboardInterrupt:
            # Locust writes its reports on SIGTERM; the summary below still gets printed.
            stop_pid(proc.pid, timeout=30)
        returncode = proc.wait()
    rows, total = load_report.read_stats(out / "locust")
    failures = load_report.read_failures(out / "locust")
    summary = load_report.as_json(rows, total, failures)
    summary |= {
        "scenario": opts.scenario,
        "shape": opts.shape,
        "host": opts.host,
        "service": opts.service,
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    return LoadResult(out, returncode, port, rows, total, failures)
