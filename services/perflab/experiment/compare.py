"""`lab compare TECHNIQUE`: one technique, naive vs optimised, in every framework.

For each service that implements the technique (the catalog says which) and answers
at its base URL, one A/B experiment (`runner.run`: flag off / on, interleaved, the same
Locust load, client figures with bootstrap CIs) runs against that service, one service
after the other, so they never share the machine. Flags are flipped through the FastAPI
service (`flags_api`): they live in Redis, so the service under test hears the flip
like any other.

Server figures are the experiment's own: exact differences of two scrapes of that
service's own `/metrics` at each arm window's start and end, read from its series only
(its `service` label). CPU per request is every process of the service over every
request it answered in the window (from the OS when it runs on this machine), memory
the RSS of all its processes at the window's end; their intervals are over the arms.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from perflab.catalog import TECHNIQUES, TechniqueSpec, unmeasurable
from perflab.experiment.config import Config
from perflab.experiment.effects import FigureResult
from perflab.experiment.result import Result
from perflab.experiment.runner import ExperimentError
from perflab.experiment.runner import run as run_experiment


@dataclass
class ServiceRun:
    service: str
    url: str
    result: Result | None = None
    skipped: str | None = None  # why this service was not measured

    @property
    def figures(self) -> list[FigureResult]:
        return self.result.figures if self.result is not None else []


@dataclass
class Comparison:
    technique: TechniqueSpec
    runs: list[ServiceRun]
    settings: dict[str, Any]


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
    if why := unmeasurable([technique]):
        raise ExperimentError(why)
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
        run_.result = run_experiment(config, out / service, progress)
    settings = {
        "duration_seconds": base.duration_seconds,
        "warmup_seconds": base.warmup_seconds,
        "repeats": base.repeats,
        "users": base.users,
        "think_seconds": base.think_seconds,
        "seed": base.seed,
    }
    return Comparison(technique=spec, runs=runs, settings=settings)


def _config(base: Config, technique: str, url: str, service: str) -> Config:
    fields = {k: getattr(base, k) for k in base.__dataclass_fields__}
    fields |= {"flag": technique, "api": url, "flags_api": base.flags_api or base.api}
    fields |= {"service": service}
    return Config(**fields)
