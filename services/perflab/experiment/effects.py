"""A against B for every figure: point estimates, bootstrap intervals, per-pair factors.

(`compare.py` is `lab compare`: one technique across frameworks.)
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from perflab.experiment import stats
from perflab.experiment.arm import ArmRun
from perflab.experiment.figure_types import Better, improvement
from perflab.experiment.figures import CLIENT_FIGURES, KEY_FIGURES, SAMPLED_FIGURES
from perflab.experiment.server_figures import SERVER_FIGURES
from perflab.experiment.verdict import Effect, Spread, spread, taken_to_zero


@dataclass
class FigureResult:
    name: str
    label: str
    unit: str
    better: Better
    source: str  # "client", "server" (exact scrape deltas) or "prometheus" (sampled)
    estimate: stats.RatioEstimate | None
    note: str = ""
    # The improvement measured in each A/B pair alone (None where a window had no value).
    pairs: list[float | None] = field(default_factory=list)
    # One arm's mean when only that arm has values (the other's note says why).
    only: dict[str, float] = field(default_factory=dict)

    @property
    def spread(self) -> Spread:
        return spread(self.pairs)

    @property
    def eliminated(self) -> bool:
        """Lower is better and the flag took the figure to 0 in every B window (e.g. asset
        requests per page view 2 -> 0): no finite improvement exists, so it is reported
        as A -> 0 instead of a ratio."""
        e = self.estimate
        return e is not None and taken_to_zero(self.better, e.a, e.b)

    def effect(self) -> Effect | None:
        e = self.estimate
        gain = improvement(e.ratio, self.better) if e else None
        if e is None or gain is None:
            return None
        ends = [improvement(x, self.better) for x in (e.low, e.high)]
        if ends[0] is None or ends[1] is None:
            return Effect(gain)
        return Effect(gain, min(ends), max(ends))  # type: ignore[type-var]


def _by_label(arms: Sequence[ArmRun], label: str) -> list[ArmRun]:
    return [arm for arm in arms if arm.label == label]


def _pair_factor(a: float | None, b: float | None, better: Better) -> float | None:
    if a is None or b is None or a == 0:
        return None
    return improvement(b / a, better)


def _client(arms: Sequence[ArmRun]) -> list[FigureResult]:
    a_arms, b_arms = _by_label(arms, "A"), _by_label(arms, "B")
    out = []
    for cf in CLIENT_FIGURES:
        a = [v for arm in a_arms for v in cf.values(arm)]
        b = [v for arm in b_arms for v in cf.values(arm)]
        estimate = stats.bootstrap_ratio(a, b, cf.statistic) if a and b else None
        pairs = []
        for arm_a, arm_b in zip(a_arms, b_arms, strict=False):
            va, vb = cf.values(arm_a), cf.values(arm_b)
            pairs.append(
                _pair_factor(
                    stats.point(cf.statistic, va), stats.point(cf.statistic, vb), cf.better
                )
            )
        note = "" if estimate else "no request ended in one arm's windows"
        out.append(
            FigureResult(cf.name, cf.label, cf.unit, cf.better, "client", estimate, note, pairs)
        )
    return out


def _server(
    arms: Sequence[ArmRun],
    values: dict[str, dict[str, float | None]],
    why: dict[str, dict[str, str]],
) -> list[FigureResult]:
    out = []
    figures: list[Any] = [*SERVER_FIGURES, *SAMPLED_FIGURES]
    for sf in figures:
        source = "server" if sf in SERVER_FIGURES else "prometheus"
        per: dict[str, list[float | None]] = {"A": [], "B": []}
        reasons: dict[str, set[str]] = {"A": set(), "B": set()}
        for arm in arms:
            arm_id = f"{arm.label}{arm.repeat}"
            value = values[arm_id].get(sf.name)
            per[arm.label].append(value)
            if value is None:
                reasons[arm.label].add(why.get(arm_id, {}).get(sf.name, "no value"))
        a = [v for v in per["A"] if v is not None]
        b = [v for v in per["B"] if v is not None]
        pairs = [_pair_factor(x, y, sf.better) for x, y in zip(per["A"], per["B"], strict=False)]
        result = FigureResult(sf.name, sf.label, sf.unit, sf.better, source, None, "", pairs)
        if a and b:
            result.estimate = stats.bootstrap_ratio(a, b, stats.mean)
            missing = len(per["A"]) + len(per["B"]) - len(a) - len(b)
            if missing:
                reasons_all = "; ".join(sorted(reasons["A"] | reasons["B"]))
                result.note = f"{missing} window(s) without a value: {reasons_all}"
        elif not a and not b:
            both = sorted(reasons["A"] | reasons["B"])
            result.note = "no data in either arm: " + "; ".join(both)
        else:
            has, lacks = ("A", "B") if a else ("B", "A")
            result.only[has] = statistics.fmean(a or b)
            result.note = f"no data in {lacks}: " + "; ".join(sorted(reasons[lacks]))
        out.append(result)
    return out


def compare(
    arms: Sequence[ArmRun],
    server: dict[str, dict[str, float | None]],
    why: dict[str, dict[str, str]],
) -> list[FigureResult]:
    return [*_client(arms), *_server(arms, server, why)]


def key_figure(
    flag: str, figures: Sequence[FigureResult]
) -> tuple[FigureResult | None, float | None]:
    name, promise = KEY_FIGURES.get(flag, ("p95", None))
    return next((f for f in figures if f.name == name), None), promise
