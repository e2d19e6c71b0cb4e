"""Runs an A/B experiment: flag off (A) and on (B), interleaved ABAB... under one load.

One Locust process runs for the whole experiment (pinned off the API's core when the
machine has two); the flag is flipped under it. After each flip and a warm-up, an arm
window opens and closes with a direct scrape of the service's own `/metrics` (and the
worker's), so every server figure is the exact difference of two scrapes, for any
window length, read from that service's series only (its `service` label). A
window is held open past `--duration` until the technique's route has answered
`min_requests` requests, so no figure of its route is ever left without data.
Interleaving cancels slow drift on a noisy machine (caches warming, a neighbour's load).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from perflab.experiment import pinning, sockets
from perflab.experiment.arm import ArmRun, LoadPlan, LoadRun, Sample
from perflab.experiment.effects import FigureResult, compare, key_figure
from perflab.experiment.figure_types import Scope
from perflab.experiment.figures import KEY_FIGURES, SAMPLED_FIGURES
from perflab.experiment.prometheus import MIN_SCRAPES, PrometheusReader
from perflab.experiment.scrape import Delta, Scraper, Snapshot, Target
from perflab.experiment.server_figures import SERVER_FIGURES
from perflab.experiment.stack import (
    ExperimentError,
    FlagGuard,
    check_api,
    interrupts_raise,
    techniques,
)
from perflab.lab.services import UnknownService, by_name
from perflab.machine import Machine, Watch

__all__ = [
    "DEFAULT_SEED",
    "Config",
    "ExperimentError",
    "FigureResult",
    "Result",
    "key_figure",
    "run",
]
SAMPLED = frozenset(f.name for f in SAMPLED_FIGURES)
DEFAULT_SEED = 1


@dataclass(frozen=True)
class Config:
    flag: str
    api: str
    prometheus: str
    worker_metrics: str | None = None  # the worker's /metrics URL (None: API only)
    duration_seconds: float = 20  # measured per arm (extended when the figures need it)
    warmup_seconds: float = 2  # after each flip, before the window opens
    repeats: int = 3
    users: int = 10
    # None: closed loop (0 s) when the key figure is throughput, else each user's own pace.
    think_seconds: float | None = None
    scenario: str | None = None  # None: the technique's own user class
    admin_token: str | None = None
    # Every run asks for the same ids, pages and keys (None: fresh draws each run): a
    # technique whose cost depends on them (pagination's page depth) then compares like
    # with like across runs.
    seed: int | None = DEFAULT_SEED
    pin: bool = True  # API and Locust on different cores (two cores or more)
    # Where flags are flipped when `api` serves no `/flags` (the Flask or Django service):
    # the FastAPI service; flags are shared through Redis, so every service hears it.
    flags_api: str | None = None
    # The `service` label of the service at `api` (fastapi, django, ...): the figures
    # Prometheus samples read only its series.
    service: str = "fastapi"
    settle_seconds: float = 1.0  # a flip reaches every process within 1 s
    min_requests: int = 20  # route answers a window waits for (beyond --duration)
    max_drain_seconds: float = 30.0  # the longest wait for the old variant's requests


@dataclass
class Result:
    config: Config
    technique: dict[str, Any]
    measured_seconds: float = 0.0  # per arm, after any extension
    arms: list[ArmRun] = field(default_factory=list)
    server: dict[str, dict[str, float | None]] = field(default_factory=dict)  # arm -> figs
    why: dict[str, dict[str, str]] = field(default_factory=dict)  # arm -> fig -> why none
    figures: list[FigureResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what the run decided, and why
    samples: list[Sample] = field(default_factory=list)  # every request, for the charts
    started: float = 0.0
    ended: float = 0.0
    machine: Machine | None = None  # its speed just before and after the arms

    def key(self) -> tuple[FigureResult | None, float | None]:
        return key_figure(self.config.flag, self.figures)


Progress = Callable[[str, int, int], None]


def measured_seconds(config: Config, interval: float | None) -> tuple[float, str | None]:
    """How long each arm is measured: `--duration`, or longer when the key figure is
    sampled by Prometheus (a peak needs at least MIN_SCRAPES scrapes of the window)."""
    key, _ = KEY_FIGURES.get(config.flag, ("p95", None))
    if key not in SAMPLED or interval is None:
        return config.duration_seconds, None
    needed = MIN_SCRAPES * interval
    if config.duration_seconds >= needed:
        return config.duration_seconds, None
    return needed, (
        f"{config.flag}'s key figure ({key}) is sampled by Prometheus every {interval:g} s "
        f"and needs at least {MIN_SCRAPES} scrapes per window: each arm is measured for "
        f"{needed:g} s instead of {config.duration_seconds:g} s"
    )


# Measured closed loop: throughput; CPU per request (at a user's own pace the API's
# background work, samplers and flag listener, would outweigh the requests); and memo
# entries, which grow with the number of requests an arm makes. (A fixed rate was tried
# for memo entries: the naive arm's count then held, but the LRU arm's depended on how
# the ten connections split between the two workers: 364 to 512 entries.)
CLOSED_LOOP_FIGURES = frozenset({"rps", "server_rps", "api_cpu_per_request", "memo_entries"})


def think_time(config: Config) -> float | None:
    """Locust's think time per user for this experiment (None: each class's own pace)."""
    if config.think_seconds is not None:
        return config.think_seconds
    key, _ = KEY_FIGURES.get(config.flag, ("p95", None))
    return 0.0 if key in CLOSED_LOOP_FIGURES else None


def describe_pace(think_seconds: float | None) -> str:
    if think_seconds == 0:
        return "closed loop (no think time)"
    if think_seconds is not None:
        return f"{think_seconds:g} s think time per user"
    return "each user class's own pace"


def run(config: Config, out: Path, progress: Progress | None = None) -> Result:
    check_api(config.api)
    known = techniques(config.api)
    if config.flag not in known:
        raise ExperimentError(f"unknown flag {config.flag!r}; known: {', '.join(known)}")
    try:
        job = by_name(config.service).job
    except UnknownService as exc:
        raise ExperimentError(str(exc)) from exc
    result = Result(config=config, technique=known[config.flag], started=time.time())
    prometheus = PrometheusReader(config.prometheus)
    interval = prometheus.scrape_interval(job) if prometheus.ready() else None
    key, _ = KEY_FIGURES.get(config.flag, ("p95", None))
    if interval is None:
        if key in SAMPLED:
            raise ExperimentError(
                f"{config.flag}'s key figure ({key}) is sampled by Prometheus, and "
                f"Prometheus at {prometheus.url} is not ready; run ./scripts/lab up"
            )
        result.notes.append(
            f"Prometheus at {prometheus.url} is not ready: RSS peak and event-loop lag are left out"
        )
    result.measured_seconds, extended = measured_seconds(config, interval)
    if extended:
        result.notes.append(extended)
    # The service under test first: its samples get its job and `service` label.
    targets = [Target(job, f"{config.api.rstrip('/')}/metrics", {"service": config.service})]
    if config.worker_metrics:
        targets.append(Target("worker", config.worker_metrics))
    # The service's processes, when it runs here: their CPU is read from the OS at each scrape.
    roots = pinning.api_roots(config.api)
    if roots and not sockets.available():
        result.notes.append("iproute2's `ss` is not installed: bytes from Postgres are left out")
    scraper = Scraper(
        targets,
        api_cpu=(lambda: pinning.cpu_seconds(roots)) if roots else None,
        db_bytes=(lambda: _postgres_bytes(roots)) if roots else None,
    )
    guard = FlagGuard(config.flags_api or config.api, config.admin_token)
    try:
        watch = Watch()
        with interrupts_raise(), pinning.pinned(config.api, config.pin) as split:
            result.notes.append(f"pinned: {split.describe()}" if split else "not pinned")
            _windows(config, result, scraper, guard, out, split, progress)
        result.machine = watch.stop()
        _sampled(result, prometheus, interval)
    finally:
        guard.restore()
        guard.close()
        scraper.close()
        prometheus.close()
    result.ended = time.time()
    result.figures = compare(result.arms, result.server, result.why)
    return result


def _windows(
    config: Config,
    result: Result,
    scraper: Scraper,
    guard: FlagGuard,
    out: Path,
    split: pinning.Split | None,
    progress: Progress | None,
) -> None:
    plan = LoadPlan(
        host=config.api,
        scenario=config.scenario or config.flag,
        users=config.users,
        think_seconds=think_time(config),
        load_cores=split.load_cores if split else None,
        seed=config.seed,
    )
    order = [("A", False), ("B", True)] * config.repeats
    per_arm = max(config.settle_seconds, config.warmup_seconds) + 4 * result.measured_seconds
    load = LoadRun(plan, out)
    route = result.technique["path"]
    guard.set(config.flag, order[0][1])  # the load starts on the first arm's variant
    load.start(run_time=int(60 + len(order) * (per_arm + config.max_drain_seconds)))
    try:
        try:
            load.wait_first_request()
        except RuntimeError as exc:  # Locust could not start or reach the API
            raise ExperimentError(str(exc)) from exc
        time.sleep(max(config.settle_seconds, config.warmup_seconds))
        drain = 0.0
        for step, (label, enabled) in enumerate(order):
            repeat = step // 2 + 1
            if progress:
                state = "on" if enabled else "off"
                progress(f"{config.flag}: arm {label}{repeat} (flag {state})", step, len(order))
            flipped = time.time()
            if guard.set(config.flag, enabled):
                time.sleep(max(config.settle_seconds, config.warmup_seconds, drain))
            start = scraper.snapshot()
            job = scraper.targets[0].name
            if job in start.missing:
                raise ExperimentError(
                    f"{config.service}'s /metrics is needed: {start.missing[job]}"
                )
            time.sleep(result.measured_seconds)
            variant = "optimised" if enabled else "naive"
            scope = Scope(route, config.flag, variant, config.service)
            end = _hold_open(config, scraper, start, scope, result.measured_seconds)
            arm = ArmRun(label, repeat, enabled, flipped, start.at, end.at)
            result.arms.append(arm)
            delta = Delta(start, end)
            _read_server(result, f"{label}{repeat}", delta, scope)
            drain = _drain_seconds(config, delta, scope)
    finally:
        result.samples = load.stop()
    for arm in result.arms:
        arm.take(result.samples, "optimised" if arm.enabled else "naive")
        if arm.stray:
            result.notes.append(
                f"arm {arm.label}{arm.repeat}: {arm.stray} answers came from the other "
                "variant (a flip not yet seen) and were left out"
            )
    if progress:
        progress(f"{config.flag}: done", len(order), len(order))


def _drain_seconds(config: Config, delta: Delta, scope: Scope) -> float:
    """How long requests of this variant may still be in flight after the next flip:
    the route's p99 in the window just measured (a slow export outlives a warm-up),
    so the next window opens once they have ended."""
    p99 = delta.quantile(0.99, "perflab_http_request_duration_seconds", **scope.routed)
    return min(p99 or 0.0, config.max_drain_seconds)


def _hold_open(
    config: Config, scraper: Scraper, start: Snapshot, scope: Scope, seconds: float
) -> Snapshot:
    """The end snapshot, taken once the route answered `min_requests` in the window
    (bounded: three times the window, or 30 s more, whichever is longer)."""
    deadline = start.at + max(3 * seconds, seconds + 30)
    while True:
        end = scraper.snapshot()
        answered = Delta(start, end).total("perflab_http_requests_total", **scope.routed)
        if answered >= config.min_requests or end.at >= deadline:
            return end
        time.sleep(0.5)


def _read_server(result: Result, arm_id: str, delta: Delta, scope: Scope) -> None:
    values, why = result.server.setdefault(arm_id, {}), result.why.setdefault(arm_id, {})
    for figure in SERVER_FIGURES:
        values[figure.name], reason = figure.read(delta, scope)
        if values[figure.name] is None:
            why[figure.name] = reason
    for target, reason in delta.missing.items():
        note = f"{target} figures left out: {reason}"
        if note not in result.notes:
            result.notes.append(note)


def _postgres_bytes(roots: list[int]) -> dict[str, int] | None:
    connections = sockets.read()
    if connections is None:
        return None
    return sockets.received_from_postgres(connections, pinning.tree_pids(roots))


def _sampled(result: Result, prometheus: PrometheusReader, interval: float | None) -> None:
    """The figures Prometheus samples, per arm (`interval` None: it was not ready)."""
    # Prometheus ingests a scrape a moment after taking it (no wait when every window is
    # too short to be sampled: those figures are left out with the reason).
    if interval and any(arm.window_seconds >= MIN_SCRAPES * interval for arm in result.arms):
        time.sleep(max(0.0, result.arms[-1].ended + 1 - time.time()))
    for arm in result.arms:
        arm_id = f"{arm.label}{arm.repeat}"
        for figure in SAMPLED_FIGURES:
            if interval is None:
                value, reason = None, f"Prometheus at {prometheus.url} was not ready"
            else:
                value, reason = prometheus.sampled(
                    figure, ended=arm.ended, seconds=arm.window_seconds, interval=interval,
                    service=result.config.service,
                )  # fmt: skip
            result.server[arm_id][figure.name] = value
            if value is None:
                result.why[arm_id][figure.name] = reason
