"""Each technique's key signal as a PromQL query, and its recent history split by variant.

The query is derived from what the service says about the technique (`GET /techniques`):
its `metric` field names a metric and, optionally, a label selector
(`perflab_db_queries_per_request{route="/books"}`). Prometheus' metadata says the
metric's type, which picks the figure: p95 for a histogram of seconds, the mean for any
other histogram, the rate for a counter, the maximum for a gauge. A technique whose
figure is a ratio brings its own query (the catalog's `key_query`), with the service's
job and the console's rate window filled in.

Which variant produced a sample is read from `perflab_flag_enabled` at the same
instant, so metrics without a `variant` label (most route metrics) still split into
naive and optimised.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

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


def signal_for(technique: dict[str, Any], job: str, kind: str | None) -> Signal | None:
    """The technique's key signal, limited to one service's `job`; `kind` is the metric type."""
    if key := technique.get("key_query"):
        query = str(key["promql"]).replace("$job", job).replace("$window", RATE_WINDOW)
        return Signal(query, str(key["label"]), str(key["unit"]), query)
    parsed = parse_metric(str(technique.get("metric", "")))
    if parsed is None:
        return None
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
