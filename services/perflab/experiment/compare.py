"""`lab compare TECHNIQUE`: one technique, naive vs optimised, in every framework.

For each service that implements the technique (the catalog says which) and answers
at its base URL, one A/B experiment (`runner.run`: flag off / on, interleaved, the same
Locust load, client figures with bootstrap CIs, server figures from Prometheus) runs
against that service, one service after the other, so they never share the machine.
Flags are flipped through the FastAPI service (`flags_api`): they live in Redis, so
the service under test hears the flip like any other.

On top of the experiment's figures, each arm's CPU time per request and resident
memory are read from the service's own `/metrics` (`perflab_process_cpu_seconds` and
`perflab_process_resident_memory_bytes`, summed over its processes) at the arm's
boundaries, so they need no Prometheus job per service. The CPU of an arm covers its
flip, settle and warm-up too, and is divided by every request the arm made; the
process gauges are sampled once a second, a small error on 20 s arms.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from perflab.catalog import TECHNIQUES, TechniqueSpec
from perflab.experiment import stats
from perflab.experiment.figures import Better
from perflab.experiment.runner import Config, ExperimentError, FigureResult, Result
from perflab.experiment.runner import run as run_experiment

CPU = "perflab_process_cpu_seconds"
RSS = "perflab_process_resident_memory_bytes"
PROCESS_FIGURES: dict[str, tuple[str, str, Better]] = {
    "cpu_ms_per_request": ("CPU time per request (service)", "ms", "lower"),
    "rss": ("resident memory, all processes (service)", "bytes", "lower"),
}


@dataclass
class ServiceRun:
    service: str
    url: str
    result: Result | None = None
    skipped: str | None = None  # why this service was not measured
    # arm id ("A1", "B1", ...) -> figure name -> value
    process: dict[str, dict[str, float]] = field(default_factory=dict)
    figures: list[FigureResult] = field(default_factory=list)  # experiment + process


@dataclass
class Comparison:
    technique: TechniqueSpec
    runs: list[ServiceRun]
    settings: dict[str, Any]


def process_totals(url: str) -> dict[str, float] | None:
    """CPU seconds and RSS bytes of every process of the service, from its /metrics."""
    try:
        text = httpx.get(f"{url}/metrics", timeout=10).text
    except httpx.HTTPError:
        return None
    totals = {CPU: 0.0, RSS: 0.0}
    seen = False
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name in totals:
                totals[sample.name] += sample.value
                seen = True
    return totals if seen else None


class _Boundaries:
    """The experiment's progress callback, called before each arm and after the last:
    the service's process totals at every arm boundary."""

    def __init__(self, url: str, forward: Callable[[str, int, int], None] | None) -> None:
        self.url = url
        self.forward = forward
        self.totals: dict[int, dict[str, float] | None] = {}

    def __call__(self, text: str, step: int, total: int) -> None:
        self.totals[step] = process_totals(self.url)
        if self.forward is not None:
            self.forward(text, step, total)


def _process_figures(result: Result, boundaries: _Boundaries) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for step, arm in enumerate(result.arms):
        start, end = boundaries.totals.get(step), boundaries.totals.get(step + 1)
        if start is None or end is None or not arm.samples:
            continue
        out[f"{arm.label}{arm.repeat}"] = {
            "cpu_ms_per_request": 1000 * (end[CPU] - start[CPU]) / len(arm.samples),
            "rss": end[RSS],
        }
    return out


def _compare_process(process: dict[str, dict[str, float]]) -> list[FigureResult]:
    figures = []
    for name, (label, unit, better) in PROCESS_FIGURES.items():
        a = [v[name] for arm, v in process.items() if arm.startswith("A")]
        b = [v[name] for arm, v in process.items() if arm.startswith("B")]
        if not a or not b:
            figures.append(
                FigureResult(name, label, unit, better, "service", None, "no /metrics figures")
            )
            continue
        estimate = stats.bootstrap_ratio(a, b, stats.mean)
        note = f"CI over {len(a)}+{len(b)} arms"
        figures.append(FigureResult(name, label, unit, better, "service", estimate, note))
    return figures


def run(
    technique: str,
    targets: Mapping[str, str],
    base: Config,
    out: Path,
    progress: Callable[[str, int, int], None] | None = None,
) -> Comparison:
    """Run `technique`'s A/B experiment in every target service implementing it.

    `targets` maps service name -> base URL; `base` gives every setting of the
    experiment but its target (`api`) and flag, which are filled in per service.
    """
    if technique not in TECHNIQUES:
        raise ExperimentError(f"unknown technique {technique!r}; known: {', '.join(TECHNIQUES)}")
    spec = TECHNIQUES[technique]
    runs: list[ServiceRun] = []
    for service, url in targets.items():
        run_ = ServiceRun(service, url)
        runs.append(run_)
        if service not in spec.implementations:
            run_.skipped = f"{service} does not implement {technique}"
            continue
        try:
            ready = httpx.get(f"{url}/readyz", timeout=5).status_code == 200
        except httpx.HTTPError:
            ready = False
        if not ready:
            run_.skipped = f"{service} is not answering at {url}"
            continue
        config = _config(base, technique, url, service)
        boundaries = _Boundaries(url, progress)
        run_.result = run_experiment(config, out / service, boundaries)
        run_.process = _process_figures(run_.result, boundaries)
        run_.figures = [*run_.result.figures, *_compare_process(run_.process)]
    settings = {
        "duration_seconds": base.duration_seconds,
        "warmup_seconds": base.warmup_seconds,
        "repeats": base.repeats,
        "users": base.users,
        "think_seconds": base.think_seconds,
    }
    return Comparison(technique=spec, runs=runs, settings=settings)


def _config(base: Config, technique: str, url: str, service: str) -> Config:
    fields = {k: getattr(base, k) for k in base.__dataclass_fields__}
    fields |= {"flag": technique, "api": url, "flags_api": base.flags_api or base.api}
    fields |= {"service": service}
    return Config(**fields)
