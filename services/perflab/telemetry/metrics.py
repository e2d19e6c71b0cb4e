"""Every metric perflab defines, declared in one place.

Prefix `perflab_`, base units, `_total` on counters, labels from bounded sets only
(route templates, flag and technique names). Plain prometheus_client metrics; in
multiprocess mode when `PROMETHEUS_MULTIPROC_DIR` is set before the first import (the
runner and the tests set it), where gauges say how samples of several processes combine.

Metrics on or off is decided once per process, when this module is first imported,
from `PERFLAB_TELEMETRY__METRICS_ENABLED` (as prometheus_client decides multiprocess
mode from its environment variable). Off, every name below is the lab's own no-op
stand-in (`_Off`): nothing is registered, counted or written, and callers need no
`if`. The services also leave out what only serves metrics (middleware, samplers,
`/metrics`).
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from typing import Any, TypeVar, cast

from prometheus_client import Counter, Gauge, Histogram
from pydantic import ValidationError
from pydantic_settings import SettingsError

from perflab.settings import get_settings


def _enabled() -> bool:
    try:
        return get_settings().telemetry.metrics_enabled
    except (ValidationError, SettingsError):
        # A bad setting is reported, in one line, by the process's entry point
        # (perflab.settings.explain); importing this module must not turn it into a traceback.
        return True


ENABLED = _enabled()


class _Off:
    """What every metric (and each of its children) is when metrics are off."""

    def labels(self, *_: Any, **__: Any) -> _Off:
        return self

    def inc(self, *_: Any) -> None:
        pass

    dec = set = observe = inc

    def track_inprogress(self) -> AbstractContextManager[None]:
        return nullcontext()


_M = TypeVar("_M", Counter, Gauge, Histogram)


def _declare(kind: type[_M], *args: Any, **kwargs: Any) -> _M:
    return kind(*args, **kwargs) if ENABLED else cast(_M, _Off())


LATENCY_BUCKETS = (
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)  # fmt: skip
SIZE_BUCKETS = (100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000)
QUERY_COUNT_BUCKETS = (0, 1, 2, 3, 5, 10, 20, 50, 100, 200, 500, 1000)
UNMATCHED_ROUTE = "<unmatched>"

# --- HTTP (RED) ---------------------------------------------------------------
HTTP_REQUESTS = _declare(
    Counter,
    "perflab_http_requests_total",
    "HTTP requests answered, by route template, method and status class.",
    ["route", "method", "status_class"],
)
HTTP_DURATION = _declare(
    Histogram,
    "perflab_http_request_duration_seconds",
    "Time from request start to the last body byte sent.",
    ["route", "method"],
    buckets=LATENCY_BUCKETS,
)
HTTP_IN_PROGRESS = _declare(
    Gauge,
    "perflab_http_requests_in_progress",
    "Requests being served right now.",
    ["route", "method"],
    multiprocess_mode="livesum",
)
HTTP_RESPONSE_SIZE = _declare(
    Histogram,
    "perflab_http_response_size_bytes",
    "Body bytes sent on the wire (after compression).",
    ["route", "method"],
    buckets=SIZE_BUCKETS,
)

# --- Database -------------------------------------------------------------------
DB_QUERIES_PER_REQUEST = _declare(
    Histogram,
    "perflab_db_queries_per_request",
    "SQL statements sent to Postgres while serving one request.",
    ["route"],
    buckets=QUERY_COUNT_BUCKETS,
)
DB_QUERY_DURATION = _declare(
    Histogram,
    "perflab_db_query_duration_seconds",
    "Duration of one SQL statement, measured by the client.",
    buckets=LATENCY_BUCKETS,
)
DB_POOL_CONNECTIONS = _declare(
    Gauge,
    "perflab_db_pool_connections",
    "Connections of the asyncpg pool by state (size, idle, in_use, max).",
    ["state"],
    multiprocess_mode="livesum",
)
DB_POOL_ACQUIRE = _declare(
    Histogram,
    "perflab_db_pool_acquire_seconds",
    "Time spent waiting for a pooled connection.",
    buckets=LATENCY_BUCKETS,
)
DB_CONNECTIONS_OPENED = _declare(
    Counter,
    "perflab_db_connections_opened_total",
    "New Postgres connections opened, by who opened them (pool or direct).",
    ["kind"],
)

# --- Cache ----------------------------------------------------------------------
CACHE_REQUESTS = _declare(
    Counter,
    "perflab_cache_requests_total",
    "Cache look-ups by cache name and result (hit, miss, error).",
    ["cache", "result"],
)

# --- Flags and techniques -------------------------------------------------------
FLAG_ENABLED = _declare(
    Gauge,
    "perflab_flag_enabled",
    "1 when the flag is on (optimised path), 0 when off.",
    ["flag"],
    multiprocess_mode="livemostrecent",
)
FLAG_FLIPS = _declare(
    Counter,
    "perflab_flag_flips_total",
    "Flag changes accepted by the API.",
    ["flag"],
)
UPSTREAM_IN_PROGRESS = _declare(
    Gauge,
    "perflab_upstream_calls_in_progress",
    "Calls to the (simulated) slow upstream waiting right now; a blocked loop keeps it <= 1.",
    multiprocess_mode="livesum",
)
UPSTREAM_CALLS = _declare(
    Counter,
    "perflab_upstream_calls_total",
    "Calls that reached the (simulated) flaky upstream of the resilience technique, by "
    "the variant that made them and their outcome (ok, error, timeout).",
    ["variant", "outcome"],
)
UPSTREAM_RETRIES = _declare(
    Counter,
    "perflab_upstream_retries_total",
    "Retries of a failed upstream call (resilience, optimised path).",
)
UPSTREAM_REJECTED = _declare(
    Counter,
    "perflab_upstream_breaker_rejections_total",
    "Upstream calls refused by the open circuit breaker (failed fast, never sent).",
)
UPSTREAM_BREAKER_STATE = _declare(
    Gauge,
    "perflab_upstream_breaker_state",
    "The upstream circuit breaker of each API process: 0 closed, 1 half-open, 2 open.",
    multiprocess_mode="livemax",
)
TECHNIQUE_DURATION = _declare(
    Histogram,
    "perflab_technique_duration_seconds",
    "Time spent in a technique's naive or optimised path.",
    ["technique", "variant"],
    buckets=LATENCY_BUCKETS,
)
EXPORT_BUFFER_PEAK = _declare(
    Histogram,
    "perflab_export_buffer_peak_bytes",
    "Largest CSV buffer one export held at once (whole file vs one batch): a cheap "
    "proxy for the export's peak memory, which tracemalloc is too costly to track always.",
    ["variant"],
    buckets=SIZE_BUCKETS,
)
MEMO_ENTRIES = _declare(
    Gauge,
    "perflab_memo_entries",
    "Reports held in the per-process memo of bounded_cache (unbounded dict vs LRU).",
    ["variant"],
    multiprocess_mode="livesum",
)
CATALOGUE_BYTES = _declare(
    Gauge,
    "perflab_catalogue_bytes",
    "Bytes held by compact_objects' in-memory catalogue (rows and their containers, "
    "sys.getsizeof; the strings both forms share are left out).",
    ["variant"],
    multiprocess_mode="livesum",
)
SEARCH_ITEMS_EXAMINED = _declare(
    Counter,
    "perflab_search_items_examined_total",
    "Titles (naive) or posting-list entries (optimised) search_index looked at.",
    ["variant"],
)

# --- Django's own techniques ----------------------------------------------------
TEMPLATE_LOADS = _declare(
    Counter,
    "perflab_template_loads_total",
    "Template files read and compiled, by template engine (cached_templates).",
    ["engine"],
)
MIDDLEWARE_CALLS = _declare(
    Counter,
    "perflab_middleware_calls_total",
    "Middleware run around a view, by middleware class (middleware_diet).",
    ["middleware"],
)

# --- Celery ---------------------------------------------------------------------
CELERY_TASKS = _declare(
    Counter,
    "perflab_celery_tasks_total",
    "Celery tasks finished, by task name and outcome.",
    ["task", "outcome"],
)
CELERY_TASKS_ENQUEUED = _declare(
    Counter,
    "perflab_celery_tasks_enqueued_total",
    "Celery tasks sent to the broker by the API, by task name.",
    ["task"],
)
CELERY_TASK_DURATION = _declare(
    Histogram,
    "perflab_celery_task_duration_seconds",
    "Run time of Celery tasks.",
    ["task"],
    buckets=LATENCY_BUCKETS,
)
CELERY_QUEUE_LENGTH = _declare(
    Gauge,
    "perflab_celery_queue_length",
    "Messages waiting in a Celery queue.",
    ["queue"],
    multiprocess_mode="livemax",
)
CELERY_QUEUE_OLDEST_AGE = _declare(
    Gauge,
    "perflab_celery_queue_oldest_message_age_seconds",
    "Age of the oldest message waiting in a Celery queue.",
    ["queue"],
    multiprocess_mode="livemax",
)
CELERY_UNACKED = _declare(
    Gauge,
    "perflab_celery_unacked_messages",
    "Messages delivered to a worker and not yet acknowledged (the broker's `unacked` "
    "set): running or reserved tasks, or those of a worker that died, until requeued.",
    multiprocess_mode="livemax",
)
CELERY_UNACKED_OLDEST_AGE = _declare(
    Gauge,
    "perflab_celery_unacked_oldest_age_seconds",
    "Time since the oldest unacknowledged message was delivered; past the visibility "
    "timeout it is a dead worker's, waiting to be requeued.",
    multiprocess_mode="livemax",
)
CELERY_WORKERS_UP = _declare(
    Gauge,
    "perflab_celery_worker_up",
    "1 while a Celery worker process is alive and consuming.",
    multiprocess_mode="livesum",
)

# --- Alerts ---------------------------------------------------------------------
ALERTS_RECEIVED = _declare(
    Counter,
    "perflab_alerts_received_total",
    "Alert notifications received from Alertmanager on the lab's webhook, by alert "
    "name (the lab's own rule names; anything else counts as `other`) and status.",
    ["alertname", "status"],
)

# --- Runtime (per process) ------------------------------------------------------
EVENT_LOOP_LAG = _declare(
    Gauge,
    "perflab_event_loop_lag_seconds",
    "Largest event-loop delay seen in the last sampling window, per process.",
    multiprocess_mode="liveall",
)
PROCESS_RSS = _declare(
    Gauge,
    "perflab_process_resident_memory_bytes",
    "Resident set size per process.",
    multiprocess_mode="liveall",
)
PROCESS_CPU = _declare(
    Gauge,
    "perflab_process_cpu_seconds",
    "CPU time used per process (user + system), monotonic while the process lives.",
    multiprocess_mode="liveall",
)
PROCESS_OPEN_FDS = _declare(
    Gauge,
    "perflab_process_open_fds",
    "Open file descriptors per process.",
    multiprocess_mode="liveall",
)
PROCESS_GC_COLLECTIONS = _declare(
    Gauge,
    "perflab_process_gc_collections",
    "Garbage collections run per process and generation since the process started.",
    ["generation"],
    multiprocess_mode="liveall",
)
