"""The arm windows of one experiment: flag off (A) and on (B), interleaved ABAB...

One Locust process runs under all of them; the flag is flipped under it. After each
flip and a warm-up, a window opens and closes with a direct scrape of the service's
own `/metrics` (and the worker's), so every server figure is the exact difference of
two scrapes, read from that service's series only (its `service` label). A window is
held open past `--duration` until the technique's route has answered `min_requests`
requests, so no figure of its route is ever left without data.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from perflab.experiment import pinning
from perflab.experiment.arm import ArmRun, LoadPlan, LoadRun
from perflab.experiment.config import Config
from perflab.experiment.figure_types import Scope
from perflab.experiment.pace import think_time
from perflab.experiment.result import Result
from perflab.experiment.scrape import Delta, Scraper, Snapshot
from perflab.experiment.server_figures import SERVER_FIGURES
from perflab.experiment.stack import ExperimentError, FlagGuard

Progress = Callable[[str, int, int], None]


def measure_arms(
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
