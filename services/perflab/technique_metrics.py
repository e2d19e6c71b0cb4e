"""Metrics that one technique's proof rests on: its key signal, beyond the lab's
telemetry (`perflab.telemetry.metrics`, declared the same way, on or off with it).

Shared by the services that implement the technique: a metric is declared once per
process, whichever service's code counts into it.
"""

from __future__ import annotations

import time

from prometheus_client import Counter, Gauge, Histogram

from perflab.telemetry.metrics import SIZE_BUCKETS, TECHNIQUE_CPU, TECHNIQUE_DURATION, declare

UPSTREAM_IN_PROGRESS = declare(
    Gauge,
    "perflab_upstream_calls_in_progress",
    "Calls to the (simulated) slow upstream waiting right now; a blocked loop keeps it <= 1.",
    multiprocess_mode="livesum",
)
UPSTREAM_CALLS = declare(
    Counter,
    "perflab_upstream_calls_total",
    "Calls that reached the (simulated) flaky upstream of the resilience technique, by "
    "the variant that made them and their outcome (ok, error, timeout).",
    ["variant", "outcome"],
)
UPSTREAM_RETRIES = declare(
    Counter,
    "perflab_upstream_retries_total",
    "Retries of a failed upstream call (resilience, optimised path).",
)
UPSTREAM_REJECTED = declare(
    Counter,
    "perflab_upstream_breaker_rejections_total",
    "Upstream calls refused by the open circuit breaker (failed fast, never sent).",
)
UPSTREAM_BREAKER_STATE = declare(
    Gauge,
    "perflab_upstream_breaker_state",
    "The upstream circuit breaker of each API process: 0 closed, 1 half-open, 2 open.",
    multiprocess_mode="livemax",
)
EXPORT_BUFFER_PEAK = declare(
    Histogram,
    "perflab_export_buffer_peak_bytes",
    "Largest CSV buffer one export held at once (whole file vs one batch): a cheap "
    "proxy for the export's peak memory, which tracemalloc is too costly to track always.",
    ["variant"],
    buckets=SIZE_BUCKETS,
)
MEMO_ENTRIES = declare(
    Gauge,
    "perflab_memo_entries",
    "Reports held in the per-process memo of bounded_cache (unbounded dict vs LRU).",
    ["variant"],
    multiprocess_mode="livesum",
)
CATALOGUE_BYTES = declare(
    Gauge,
    "perflab_catalogue_bytes",
    "Bytes held by compact_objects' in-memory catalogue: the list and each row's own "
    "objects (dict, instance, ORM state); the field values both forms share are left out.",
    ["variant"],
    multiprocess_mode="livesum",
)
SEARCH_ITEMS_EXAMINED = declare(
    Counter,
    "perflab_search_items_examined_total",
    "Titles (naive) or posting-list entries (optimised) search_index looked at.",
    ["variant"],
)

# Django's own techniques
TEMPLATE_LOADS = declare(
    Counter,
    "perflab_template_loads_total",
    "Template files read and compiled, by template engine (cached_templates).",
    ["engine"],
)
MIDDLEWARE_CALLS = declare(
    Counter,
    "perflab_middleware_calls_total",
    "Middleware run around a view, by middleware class (middleware_diet).",
    ["middleware"],
)


# The technique timers (`perflab.telemetry.metrics`), the same for every service.
VARIANTS = ("naive", "optimised")


def start_timers(name: str, *, cpu_bound: bool) -> None:
    """Both variants' timer series of technique `name` at zero from the start, so the
    first calls of a variant are not lost to `rate()`/`increase()` (a series first seen
    with a count above zero has no increase)."""
    for variant in VARIANTS:
        TECHNIQUE_DURATION.labels(technique=name, variant=variant)
        if cpu_bound:
            TECHNIQUE_CPU.labels(technique=name, variant=variant)


def observe_timers(
    name: str, variant: str, started: float, cpu_started: float | None = None
) -> None:
    """One call of a variant: wall time since `started` (`time.perf_counter()`) and,
    for a CPU-bound path, the thread's CPU time since `cpu_started` (`time.thread_time()`)."""
    labels = {"technique": name, "variant": variant}
    if cpu_started is not None:
        TECHNIQUE_CPU.labels(**labels).observe(time.thread_time() - cpu_started)
    TECHNIQUE_DURATION.labels(**labels).observe(time.perf_counter() - started)
