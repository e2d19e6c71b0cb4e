"""Each technique's key signal as a PromQL query, and its recent history split by variant.

The query is derived from what the service says about the technique (`GET /techniques`):
its `metric` field names a metric and, optionally, a label selector
(`perflab_db_queries_per_request{route="/books"}`). Prometheus' metadata says the
metric's type, which picks the figure: p95 for a histogram of seconds, the mean for any
other histogram, the rate for a counter, the maximum for a gauge. A technique whose
figure no single metric is (a ratio, e.g. CPU per request) is charted by its first
dashboard signal (`dashboards.signals`), scoped to the service's job like the overview.

Which variant produced a sample is read from `perflab_flag_enabled` at the same
instant, so metrics without a `variant` label (most route metrics) still split into
naive and optimised.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from perflab.dashboards import queries as q
from perflab.dashboards.signals import SIGNALS as DASHBOARD_SIGNALS

_METRIC = re.compile(r"^\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\{[^}]*\})?")
_MATCHER = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!=|!~|=)\s*"((?:[^"\\]|\\.)*)"\s*,?')
# Long enough for a few scrapes at the native lab's 5 s interval, short enough to follow a flip.
RATE_WINDOW_SECONDS = 30
RATE_WINDOW = f"{RATE_WINDOW_SECONDS}s"


@dataclass(frozen=True)
class Signal:
    query: str
    label: str  # what the number is: "p95", "mean", "max", or what a rate counts
    unit: str  # "s", "bytes", "queries", "/s" or ""
    metric: str


def parse_metric(text: str) -> tuple[str, list[str]] | None:
    """`name{a="b"}` -> ("name", ['a="b"']); free text after the selector is ignored."""
    match = _METRIC.match(text or "")
    if match is None:
        return None
    name, selector = match.group(1), match.group(2) or "{}"
    inner = selector[1:-1]
    matchers = []
    for found in _MATCHER.finditer(inner):
        label, op, value = found.groups()
        matchers.append(f'{label}{op}"{value}"')
    return name, matchers


def _unit(name: str) -> str:
    for suffix, unit in (("_seconds", "s"), ("_bytes", "bytes"), ("_per_request", "queries")):
        if name.endswith(suffix):
            return unit
    return ""


def lab_metric(technique: dict[str, Any]) -> tuple[str, list[str]] | None:
    """The lab metric (and matchers) the technique's `metric` names; None for prose."""
    parsed = parse_metric(str(technique.get("metric", "")))
    return parsed if parsed is not None and parsed[0].startswith("perflab_") else None


def job_scoped(expr: str, job: str | None) -> str:
    """A dashboard query limited to `job` (None: the whole lab's), over the console's
    rate window instead of Grafana's."""
    if job is not None:
        expr = q.scoped(expr).replace(q.SERVICE_MATCHER, f'job="{job}"')
    return expr.replace(q.RATE_WINDOW, RATE_WINDOW)


def _dashboard_signal(technique: dict[str, Any], job: str) -> Signal | None:
    for name in technique.get("signals", ()):
        if (shown := DASHBOARD_SIGNALS.get(name)) is not None:
            query = job_scoped(shown.expr, job)
            unit = shown.unit if shown.unit in ("s", "bytes") else ""
            return Signal(query, shown.title, unit, query)
    return None


def signal_for(technique: dict[str, Any], job: str, kind: str | None) -> Signal | None:
    """The technique's key signal, limited to one service's `job`; `kind` is the metric type."""
    parsed = lab_metric(technique)
    if parsed is None:
        return _dashboard_signal(technique, job)
    name, matchers = parsed
    sel = "{" + ",".join([*matchers, f'job="{job}"']) + "}"
    kind = kind or ("counter" if name.endswith("_total") else "gauge")
    if kind == "histogram":
        if name.endswith("_seconds"):
            query = (
                f"histogram_quantile(0.95, sum by (le) (rate({name}_bucket{sel}[{RATE_WINDOW}])))"
            )
            return Signal(query, "p95", "s", name)
        query = (
            f"sum(rate({name}_sum{sel}[{RATE_WINDOW}])) "
            f"/ sum(rate({name}_count{sel}[{RATE_WINDOW}]))"
        )
        return Signal(query, "mean", _unit(name), name)
    if kind == "counter":
        # The value already reads "/s": the label says what is counted ("cache requests").
        counted = name.removeprefix("perflab_").removesuffix("_total").replace("_", " ")
        return Signal(f"sum(rate({name}{sel}[{RATE_WINDOW}]))", counted, "/s", name)
    return Signal(f"max({name}{sel})", "max", _unit(name), name)


def flags_query(job: str) -> str:
    return f'max by (flag) (perflab_flag_enabled{{job="{job}"}})'


@dataclass
class Figures:
    """One card's numbers: the window's samples split by variant, and the flips in it."""

    times: list[float] = field(default_factory=list)
    naive: list[float | None] = field(default_factory=list)
    optimised: list[float | None] = field(default_factory=list)
    # Samples whose window spans a flip (both variants in them): drawn, not averaged.
    mixed: list[float | None] = field(default_factory=list)
    current: float | None = None
    current_variant: str | None = None
    flips: list[dict[str, Any]] = field(default_factory=list)

    def mean(self, values: list[float | None]) -> float | None:
        seen = [v for v in values if v is not None]
        return sum(seen) / len(seen) if seen else None

    def as_json(self, signal: Signal) -> dict[str, Any]:
        return {
            "label": signal.label,
            "unit": signal.unit,
            "query": signal.query,
            "times": self.times,
            "naive": self.naive,
            "optimised": self.optimised,
            "mixed": self.mixed,
            "current": self.current,
            "current_variant": self.current_variant,
            "means": {"naive": self.mean(self.naive), "optimised": self.mean(self.optimised)},
            "flips": self.flips,
        }


def finite(raw: str) -> float | None:
    value = float(raw)
    return value if math.isfinite(value) else None


def _settled(state: dict[float, float], at: float, step: float, settle: float) -> float | None:
    """The flag's state at `at` if it was the same over the `settle` seconds before."""
    now = state.get(at)
    back = step
    while now is not None and back <= settle + 1e-9:
        if state.get(at - back, now) != now:
            return None
        back += step
    return now


def split(
    signal: list[list[Any]],
    flag: list[list[Any]],
    flips: list[dict[str, Any]],
    end: float,
    step: float,
    settle: float = 0.0,
) -> Figures:
    """Samples of the signal (`[[t, "v"], ...]`) labelled by the flag's state at each t.

    A sample counts for a variant only when the flag held that state for the `settle`
    seconds before it (the rate window): a rate just after a flip mixes both variants.

    `current` is the sample at the end of the window (within two steps), else None:
    a figure from minutes ago is not the current one.
    """
    state = {float(t): float(v) for t, v in flag}
    figures = Figures(flips=flips)
    for t, raw in signal:
        at = float(t)
        value = finite(raw)
        on = _settled(state, at, step, settle)
        figures.times.append(at)
        figures.naive.append(value if on == 0 else None)
        figures.optimised.append(value if on == 1 else None)
        now = state.get(at)
        figures.mixed.append(value if on is None and now is not None else None)
        # The figure now is the latest sample whatever it mixes; its variant is the flag's.
        if value is not None and now is not None and at >= end - 2 * step:
            figures.current = value
            figures.current_variant = "optimised" if now == 1 else "naive"
    return figures
