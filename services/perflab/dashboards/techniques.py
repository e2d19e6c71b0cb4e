"""Techniques: naive vs optimised for the technique picked in `$technique`.

The top rows compare the two variants of the selected technique (its flag, duration
by variant, calls by variant). Below, one collapsed row per technique shows the
figure that technique exists to move (queries per request, cache hits, bytes, lag...);
read it against the flip annotations.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from grafana_foundation_sdk.builders.dashboard import Row

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
from perflab.flags.catalog import FLAGS

UID = "perflab-techniques"


@dataclass(frozen=True)
class Signal:
    title: str
    unit: str
    expr: str
    legend: str


QPR = Signal(
    "Queries per request by route (mean)", "short", q.QUERIES_PER_REQUEST_MEAN_BY_ROUTE, "{{route}}"
)
SQL_P95 = Signal("SQL statement duration p95", "s", q.query_latency(0.95), "p95")
SQL_P50 = Signal("SQL statement duration p50", "s", q.query_latency(0.5), "p50")
HTTP_P95 = Signal("HTTP p95 latency by route", "s", q.latency(0.95, "route"), "{{route}}")
CACHE_HITS = Signal(
    "Cache hit ratio by cache", "percentunit", q.CACHE_HIT_RATIO_BY_CACHE, "{{cache}}"
)
CACHE_LOOKUPS = Signal(
    "Cache look-ups per second by result", "ops", q.CACHE_LOOKUPS_BY_RESULT, "{{cache}} {{result}}"
)
CONNECTIONS = Signal(
    "Connections opened per second by kind", "ops", q.CONNECTIONS_OPENED_BY_KIND, "{{kind}}"
)
ACQUIRE = Signal("Pool acquire wait p95", "s", q.pool_acquire(0.95), "p95")
SIZE = Signal("Response size by route (mean)", "bytes", q.RESPONSE_SIZE_MEAN_BY_ROUTE, "{{route}}")
BYTES = Signal("Bytes sent per second by route", "Bps", q.BYTES_SENT_BY_ROUTE, "{{route}}")
CPU = Signal("CPU per process", "percentunit", q.CPU, q.PROCESS_LEGEND)
RSS = Signal("Resident memory per process", "bytes", q.RSS, q.PROCESS_LEGEND)
TASKS = Signal(
    "Celery tasks per second by outcome", "ops", q.TASKS_BY_OUTCOME, "{{task}} {{outcome}}"
)
LAG = Signal("Event-loop lag per process", "s", q.LOOP_LAG, q.PROCESS_LEGEND)
ENQUEUED = Signal("Celery tasks enqueued per second", "ops", q.TASKS_ENQUEUED_BY_TASK, "{{task}}")
EXPORT_BUFFER = Signal(
    "Export buffer peak p95 by variant", "bytes", q.EXPORT_BUFFER_PEAK_P95, "{{variant}}"
)
UPSTREAM = Signal("Upstream calls in flight", "short", q.UPSTREAM_IN_PROGRESS, "in flight")
NOT_MODIFIED = Signal(
    "Share of 304 (3xx) responses", "percentunit", q.NOT_MODIFIED_RATIO, "3xx share"
)

# The figure each technique moves; keys are exactly the flag catalog (tested).
SIGNALS: dict[str, tuple[Signal, ...]] = {
    "n_plus_one": (QPR, HTTP_P95),
    "db_index": (SQL_P95, HTTP_P95),
    "response_cache": (CACHE_HITS, CACHE_LOOKUPS),
    "connection_pool": (CONNECTIONS, ACQUIRE),
    "prepared_statements": (SQL_P50, HTTP_P95),
    "select_columns": (SQL_P95, HTTP_P95),
    "pagination": (SQL_P95, HTTP_P95),
    "gzip": (SIZE, BYTES),
    "fast_json": (CPU, HTTP_P95),
    "streaming_export": (EXPORT_BUFFER, RSS),
    "background_offload": (ENQUEUED, TASKS, HTTP_P95),
    "batch_insert": (QPR, HTTP_P95),
    "async_io": (LAG, UPSTREAM),
    "cpu_offload": (LAG, CPU),
    "http_caching": (NOT_MODIFIED, BYTES),
}


def _technique_row(name: str) -> Row:
    signals = SIGNALS[name]
    row = Row(f"{name}: {signals[0].title.lower()}")
    for signal in signals:
        row = row.with_panel(
            timeseries(
                f"{name}: {signal.title}",
                signal.unit,
                prom(signal.expr, signal.legend),
                description=FLAGS[name],
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
    for name in FLAGS:
        builder = builder.with_row(_technique_row(name))
    return finish(builder)
