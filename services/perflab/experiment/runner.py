"""Runs an A/B experiment: flag off (A) and on (B), interleaved ABAB... under one load.

One Locust process runs for the whole experiment (pinned off the API's core when the
machine has two); the flag is flipped under it, one arm window after another
(`arm_windows`). Every server figure of a window is the exact difference of two direct
scrapes of the service's own `/metrics` (and the worker's), for any window length; the
figures Prometheus samples are read after the last arm. Interleaving cancels slow drift
on a noisy machine (caches warming, a neighbour's load).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from perflab.catalog import TECHNIQUES
from perflab.experiment import pinning, sockets
from perflab.experiment.arm_windows import Progress, measure_arms
from perflab.experiment.config import Config
from perflab.experiment.effects import compare
from perflab.experiment.figures import KEY_FIGURES, SAMPLED_FIGURES
from perflab.experiment.pace import SAMPLED, measured_seconds
from perflab.experiment.prometheus import MIN_SCRAPES, PrometheusReader
from perflab.experiment.result import Result
from perflab.experiment.scrape import Scraper, Target
from perflab.experiment.stack import (
    ExperimentError,
    FlagGuard,
    check_api,
    interrupts_raise,
    techniques,
)
from perflab.lab.services import UnknownService, by_name
from perflab.machine import Watch

__all__ = ["ExperimentError", "run"]


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
            spec = TECHNIQUES.get(config.flag)
            if spec is not None and spec.experiment_fault:
                fault = dict(spec.experiment_fault)
                # Every process follows the knob within a second: the settle after the
                # first flip covers it.
                guard.set_upstream_fault(fault)
                result.notes.append(
                    f"measured under an upstream fault, {json.dumps(fault)} (PUT "
                    f"/upstream/fault), in every arm; put back to "
                    f"{json.dumps(guard.fault_before)} after"
                )
            measure_arms(config, result, scraper, guard, out, split, progress)
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
