"""Techniques: naive vs optimised for the technique picked in `$technique`.

The top rows compare the two variants of the selected technique (its flag, duration
by variant, calls by variant). Below, one collapsed row per technique shows the
figure that technique exists to move (queries per request, cache hits, bytes, lag...);
read it against the flip annotations.
"""

from __future__ import annotations

from typing import Any

from grafana_foundation_sdk.builders.dashboard import Row

from perflab.catalog import TECHNIQUES
from perflab.dashboards import queries as q
from perflab.dashboards.common import (
    dashboard,
    finish,
    flag_state,
    prom,
    stat,
    technique_variable,
    timeseries,
)
from perflab.dashboards.signals import SIGNALS, Signal

UID = "perflab-techniques"


def signals_of(name: str) -> tuple[Signal, ...]:
    """The signals the catalog names for technique `name`."""
    return tuple(SIGNALS[signal] for signal in TECHNIQUES[name].signals)


def _technique_row(name: str) -> Row:
    signals = signals_of(name)
    row = Row(f"{name}: {signals[0].title.lower()}")
    for signal in signals:
        row = row.with_panel(
            timeseries(
                f"{name}: {signal.title}",
                signal.unit,
                prom(signal.expr, signal.legend),
                description=TECHNIQUES[name].lesson,
                width=24 // len(signals),
            )
        )
    return row


def build() -> dict[str, Any]:
    builder = (
        dashboard(UID, "perflab / Techniques", "Naive vs optimised, one technique at a time.")
        .with_variable(technique_variable())
        .with_panel(flag_state(q.TECHNIQUE_FLAG_STATE, "Flag $technique", height=5))
        .with_panel(
            stat(
                "Naive p95 ($technique, whole range)",
                "s",
                prom(q.technique_range_latency(0.95, "naive"), "naive", instant=True),
                width=8,
            )
        )
        .with_panel(
            stat(
                "Optimised p95 ($technique, whole range)",
                "s",
                prom(q.technique_range_latency(0.95, "optimised"), "optimised", instant=True),
                width=8,
            )
        )
        .with_panel(
            stat(
                "Speed-up: naive mean / optimised mean",
                "suffix:×",
                prom(q.TECHNIQUE_SPEEDUP, "speed-up", instant=True),
                description="How many times longer the naive path takes on average.",
                width=8,
            )
        )
        .with_panel(
            timeseries(
                "Duration p95 by variant",
                "s",
                prom(q.technique_latency(0.95), "{{variant}}"),
                description="perflab_technique_duration_seconds: time inside the chosen path.",
            )
        )
        .with_panel(
            timeseries(
                "Duration p50 by variant", "s", prom(q.technique_latency(0.5), "{{variant}}")
            )
        )
        .with_panel(
            timeseries(
                "Calls per second by variant",
                "ops",
                prom(q.TECHNIQUE_CALLS_BY_VARIANT, "{{variant}}"),
                width=24,
            )
        )
    )
    for name in TECHNIQUES:
        builder = builder.with_row(_technique_row(name))
    return finish(builder)
