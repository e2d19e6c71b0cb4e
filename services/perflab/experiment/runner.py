"""Runs an A/B experiment: flag off (A) and on (B), interleaved ABAB... under the same load.

Interleaving cancels slow drift on a noisy machine (caches warming, a neighbour's
load). The flags the run touches are restored when it ends, fails or is interrupted.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import httpx

from perflab.experiment import stats
from perflab.experiment.arm import ArmRun, ArmRunner, LoadPlan
from perflab.experiment.figures import CLIENT_FIGURES, KEY_FIGURES, SERVER_FIGURES
from perflab.experiment.prometheus import PrometheusReader


class ExperimentError(RuntimeError):
    """The experiment cannot run (stack unhealthy, unknown flag); the message says why."""


@dataclass(frozen=True)
class Config:
    flag: str
    api: str
    prometheus: str
    duration_seconds: int = 20
    warmup_seconds: int = 3
    repeats: int = 3
    users: int = 10
    # None: closed loop (0 s) when the key figure is throughput, else each user's own pace.
    think_seconds: float | None = None
    scenario: str | None = None  # None: the technique's own user class
    admin_token: str | None = None
    settle_seconds: float = 1.5  # a flip reaches every process within 1 s
    # Where flags are flipped when `api` serves no `/flags` (the Flask or Django service):
    # the FastAPI service; flags are shared through Redis, so every service hears it.
    flags_api: str | None = None
    # The `service` label of the service at `api`: server figures read only its series.
    service: str = "fastapi"


@dataclass
class FigureResult:
    name: str
    label: str
    unit: str
    better: str
    source: str
    estimate: stats.RatioEstimate | None
    note: str = ""


@dataclass
class Result:
    config: Config
    technique: dict[str, Any]
    arms: list[ArmRun] = field(default_factory=list)
    server: dict[str, dict[str, float | None]] = field(default_factory=dict)  # arm id -> figs
    figures: list[FigureResult] = field(default_factory=list)
    started: float = 0.0
    ended: float = 0.0


class FlagGuard:
    """Sets flags through the API and puts back every flag it touched."""

    def __init__(self, api: str, token: str | None) -> None:
        headers = {"X-Perflab-Actor": "experiment"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self.client = httpx.Client(base_url=api, headers=headers, timeout=120)
        self.original: dict[str, bool] = {}

    def current(self) -> dict[str, bool]:
        answer = self.client.get("/flags")
        answer.raise_for_status()
        return {f["name"]: f["enabled"] for f in answer.json()["flags"]}

    def set(self, name: str, enabled: bool) -> None:
        if name not in self.original:
            self.original[name] = self.current()[name]
        answer = self.client.put(f"/flags/{name}", json={"enabled": enabled})
        if answer.status_code == 401:
            raise ExperimentError("the API needs an admin token: set PERFLAB_ADMIN_TOKEN")
        answer.raise_for_status()

    def restore(self) -> None:
        for name, enabled in self.original.items():
            self.client.put(f"/flags/{name}", json={"enabled": enabled}).raise_for_status()
        self.original.clear()

    def close(self) -> None:
        self.client.close()


@contextmanager
def _interrupts_raise() -> Iterator[None]:
    """SIGTERM behaves like Ctrl-C, so both reach the `finally` that restores flags."""

    def raise_interrupt(_signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, raise_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def check_stack(api: str, prometheus: PrometheusReader, *more: str) -> None:
    """The service under test, the flags API (`more`) and Prometheus are ready."""
    for url in dict.fromkeys((api, *more)):
        try:
            ready = httpx.get(f"{url}/readyz", timeout=5)
        except httpx.HTTPError as exc:
            raise ExperimentError(
                f"the service at {url} is not reachable ({exc}); run ./scripts/lab up"
            ) from exc
        if ready.status_code != 200:
            raise ExperimentError(f"the service at {url} is not ready: {ready.text}")
    if not prometheus.ready():
        raise ExperimentError(f"Prometheus at {prometheus.url} is not ready; run ./scripts/lab up")


def techniques(api: str) -> dict[str, dict[str, Any]]:
    answer = httpx.get(f"{api}/techniques", timeout=10)
    answer.raise_for_status()
    return {t["name"]: t for t in answer.json()["techniques"]}


Progress = Callable[[str, int, int], None]


def run(config: Config, out: Path, progress: Progress | None = None) -> Result:
    prometheus = PrometheusReader(config.prometheus)
    check_stack(config.api, prometheus, *([config.flags_api] if config.flags_api else []))
    known = techniques(config.api)
    if config.flag not in known:
        raise ExperimentError(
            f"{config.service} at {config.api} does not implement {config.flag!r}; "
            f"it does: {', '.join(known)}"
        )
    technique = known[config.flag]
    plan = LoadPlan(
        host=config.api,
        scenario=config.scenario or config.flag,
        users=config.users,
        warmup_seconds=config.warmup_seconds,
        duration_seconds=config.duration_seconds,
        think_seconds=_think_time(config),
    )
    runner = ArmRunner(plan, out)
    guard = FlagGuard(config.flags_api or config.api, config.admin_token)
    result = Result(config=config, technique=technique, started=time.time())
    order = [("A", False), ("B", True)] * config.repeats
    try:
        with _interrupts_raise():
            for step, (label, enabled) in enumerate(order):
                repeat = step // 2 + 1
                if progress:
                    progress(
                        f"{config.flag}: arm {label}{repeat} (flag {'on' if enabled else 'off'})",
                        step,
                        len(order),
                    )
                guard.set(config.flag, enabled)
                time.sleep(config.settle_seconds)
                result.arms.append(runner.run(label, repeat, enabled))
            if progress:
                progress(f"{config.flag}: reading Prometheus", len(order), len(order))
    finally:
        runner.stop()
        guard.restore()
        guard.close()
    result.ended = time.time()
    # Let Prometheus scrape past the end of the last arm before reading it back.
    time.sleep(_scrape_margin(prometheus))
    for arm in result.arms:
        result.server[f"{arm.label}{arm.repeat}"] = prometheus.arm_figures(
            arm, technique["path"], config.flag, config.service
        )
    prometheus.close()
    result.figures = compare(result)
    return result


def _think_time(config: Config) -> float | None:
    if config.think_seconds is not None:
        return config.think_seconds
    key, _ = KEY_FIGURES.get(config.flag, ("p95", None))
    return 0.0 if key in ("rps", "server_rps") else None


def _scrape_margin(prometheus: PrometheusReader) -> float:
    try:
        config = prometheus.client.get(f"{prometheus.url}/api/v1/status/config").json()
        text = config["data"]["yaml"]
        for line in text.splitlines():
            if "scrape_interval:" in line:
                value = line.split(":", 1)[1].strip()
                return float(value.rstrip("s")) + 1 if value.endswith("s") else 6.0
    except (httpx.HTTPError, KeyError, ValueError):
        pass
    return 6.0


def compare(result: Result) -> list[FigureResult]:
    a_arms = [arm for arm in result.arms if arm.label == "A"]
    b_arms = [arm for arm in result.arms if arm.label == "B"]
    figures: list[FigureResult] = []
    for cf in CLIENT_FIGURES:
        a = [v for arm in a_arms for v in cf.values(arm)]
        b = [v for arm in b_arms for v in cf.values(arm)]
        estimate = stats.bootstrap_ratio(a, b, cf.statistic) if a and b else None
        figures.append(FigureResult(cf.name, cf.label, cf.unit, cf.better, "client", estimate))
    for sf in SERVER_FIGURES:
        a = [v for arm in a_arms if (v := result.server[f"A{arm.repeat}"][sf.name]) is not None]
        b = [v for arm in b_arms if (v := result.server[f"B{arm.repeat}"][sf.name]) is not None]
        if not a or not b:
            figures.append(
                FigureResult(sf.name, sf.label, sf.unit, sf.better, "server", None,
                             "no data in one arm (the technique does not touch it)")
            )  # fmt: skip
            continue
        estimate = stats.bootstrap_ratio(a, b, stats.mean)
        note = f"CI over {len(a)}+{len(b)} arm windows"
        figures.append(
            FigureResult(sf.name, sf.label, sf.unit, sf.better, "server", estimate, note)
        )
    return figures


def key_figure(result: Result) -> tuple[FigureResult | None, float | None]:
    name, expected = KEY_FIGURES.get(result.config.flag, ("p95", None))
    found = next((f for f in result.figures if f.name == name and f.estimate), None)
    return found, expected
