"""The lab's telemetry metrics: RED, database, cache, flags, Celery, alerts, runtime
(the signals of single techniques: `perflab.technique_metrics`, declared alike).

Prefix `perflab_`, base units, `_total` on counters, labels from bounded sets only.
Plain prometheus_client metrics; in multiprocess mode when `PROMETHEUS_MULTIPROC_DIR`
is set before the first import, where gauges say how samples of processes combine.

Metrics on or off is decided once per process, at first import, from
`PERFLAB_TELEMETRY__METRICS_ENABLED`. Off, every name below is a no-op stand-in (`_Off`):
nothing is registered or written, and callers need no `if`; the services also leave
out the middleware, samplers and `/metrics` that only serve metrics.
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
        # The entry point reports a bad setting in one line (perflab.settings.explain).
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


def declare(kind: type[_M], *args: Any, **kwargs: Any) -> _M:
    return kind(*args, **kwargs) if ENABLED else cast(_M, _Off())


LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
SIZE_BUCKETS = (100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000)
QUERY_COUNT_BUCKETS = (0, 1, 2, 3, 5, 10, 20, 50, 100, 200, 500, 1000)
UNMATCHED_ROUTE = "<unmatched>"

# --- HTTP (RED) ---------------------------------------------------------------
HTTP_REQUESTS = declare(
    Counter,
    "perflab_http_requests_total",
    "HTTP requests answered, by route template, method and status class.",
    ["route", "method", "status_class"],
)
HTTP_DURATION = declare(
    Histogram,
    "perflab_http_request_duration_seconds",
    "Time from request start to the last body byte sent.",
    ["route", "method"],
    buckets=LATENCY_BUCKETS,
)
HTTP_IN_PROGRESS = declare(
    Gauge,
    "perflab_http_requests_in_progress",
    "Requests being served right now.",
    ["route", "method"],
    multiprocess_mode="livesum",
)
HTTP_RESPONSE_SIZE = declare(
    Histogram,
    "perflab_http_response_size_bytes",
    "Body bytes sent on the wire (after compression).",
    ["route", "method"],
    buckets=SIZE_BUCKETS,
)

# --- Database -------------------------------------------------------------------
DB_QUERIES_PER_REQUEST = declare(
    Histogram,
    "perflab_db_queries_per_request",
    "SQL statements sent to Postgres while serving one request.",
    ["route"],
    buckets=QUERY_COUNT_BUCKETS,
)
DB_QUERY_DURATION = declare(
    Histogram,
    "perflab_db_query_duration_seconds",
    "Duration of one SQL statement, measured by the client.",
    buckets=LATENCY_BUCKETS,
)
DB_POOL_CONNECTIONS = declare(
    Gauge,
    "perflab_db_pool_connections",
    "Connections of the asyncpg pool by state (size, idle, in_use, max).",
    ["state"],
    multiprocess_mode="livesum",
)
DB_POOL_ACQUIRE = declare(
    Histogram,
    "perflab_db_pool_acquire_seconds",
    "Time spent waiting for a pooled connection.",
    buckets=LATENCY_BUCKETS,
)
DB_CONNECTIONS_OPENED = declare(
    Counter,
    "perflab_db_connections_opened_total",
    "New Postgres connections opened, by who opened them (pool or direct).",
    ["kind"],
)

# --- Cache ----------------------------------------------------------------------
CACHE_REQUESTS = declare(
    Counter,
    "perflab_cache_requests_total",
    "Cache look-ups by cache name and result (hit, miss, error).",
    ["cache", "result"],
)

# --- Flags and techniques -------------------------------------------------------
FLAG_ENABLED = declare(
    Gauge,
    "perflab_flag_enabled",
    "1 when the flag is on (optimised path), 0 when off.",
    ["flag"],
    multiprocess_mode="livemostrecent",
)
FLAG_FLIPS = declare(
    Counter,
    "perflab_flag_flips_total",
    "Flag changes accepted by the API.",
    ["flag"],
)
TECHNIQUE_DURATION = declare(
    Histogram,
    "perflab_technique_duration_seconds",
    "Time spent in a technique's naive or optimised path.",
    ["technique", "variant"],
    buckets=LATENCY_BUCKETS,
)
TECHNIQUE_CPU = declare(
    Histogram,
    "perflab_technique_cpu_seconds",
    "CPU time of the thread in a technique's path that never awaits (CPU-bound work): "
    "time preempted by another process or spent on another request is not in it.",
    ["technique", "variant"],
    buckets=LATENCY_BUCKETS,
)
# --- Celery ---------------------------------------------------------------------
CELERY_TASKS = declare(
    Counter,
    "perflab_celery_tasks_total",
    "Celery tasks finished, by task name and outcome.",
    ["task", "outcome"],
)
CELERY_TASKS_ENQUEUED = declare(
    Counter,
    "perflab_celery_tasks_enqueued_total",
    "Celery tasks sent to the broker by the API, by task name.",
    ["task"],
)
CELERY_TASK_DURATION = declare(
    Histogram,
    "perflab_celery_task_duration_seconds",
    "Run time of Celery tasks.",
    ["task"],
    buckets=LATENCY_BUCKETS,
)
CELERY_QUEUE_LENGTH = declare(
    Gauge,
    "perflab_celery_queue_length",
    "Messages waiting in a Celery queue.",
    ["queue"],
    multiprocess_mode="livemax",
)
CELERY_QUEUE_OLDEST_AGE = declare(
    Gauge,
    "perflab_celery_queue_oldest_message_age_seconds",
    "Age of the oldest message waiting in a Celery queue.",
    ["queue"],
    multiprocess_mode="livemax",
)
CELERY_UNACKED = declare(
    Gauge,
    "perflab_celery_unacked_messages",
    "Messages delivered to a worker and not yet acknowledged (the broker's `unacked` "
    "set): running or reserved tasks, or those of a worker that died, until requeued.",
    multiprocess_mode="livemax",
)
CELERY_UNACKED_OLDEST_AGE = declare(
    Gauge,
    "perflab_celery_unacked_oldest_age_seconds",
    "Time since the oldest unacknowledged message was delivered; past the visibility "
    "timeout it is a dead worker's, waiting to be requeued.",
    multiprocess_mode="livemax",
)
CELERY_WORKERS_UP = declare(
    Gauge,
    "perflab_celery_worker_up",
    "1 while a Celery worker process is alive and consuming.",
    multiprocess_mode="livesum",
)

# --- Alerts ---------------------------------------------------------------------
ALERTS_RECEIVED = declare(
    Counter,
    "perflab_alerts_received_total",
    "Alert notifications received from Alertmanager on the lab's webhook, by alert "
    "name (the lab's own rule names; anything else counts as `other`) and status.",
    ["alertname", "status"],
)

# --- Runtime (per process) ------------------------------------------------------
EVENT_LOOP_LAG = declare(
    Gauge,
    "perflab_event_loop_lag_seconds",
    "Largest event-loop delay seen in the last sampling window, per process.",
    multiprocess_mode="liveall",
)
EVENT_LOOP_DELAY = declare(
    Counter, "perflab_event_loop_delay_seconds",
    "Every 100 ms sampler tick's lateness, summed: exact over any window (the gauge above "
    "is a sampled max).",
)  # fmt: skip
PROCESS_RSS = declare(
    Gauge,
    "perflab_process_resident_memory_bytes",
    "Resident set size per process.",
    multiprocess_mode="liveall",
)
PROCESS_CPU = declare(
    Gauge,
    "perflab_process_cpu_seconds",
    "CPU time used per process (user + system), monotonic while the process lives.",
    multiprocess_mode="liveall",
)
PROCESS_OPEN_FDS = declare(
    Gauge,
    "perflab_process_open_fds",
    "Open file descriptors per process.",
    multiprocess_mode="liveall",
)
PROCESS_GC_COLLECTIONS = declare(
    Gauge,
    "perflab_process_gc_collections",
    "Garbage collections run per process and generation since the process started.",
    ["generation"],
    multiprocess_mode="liveall",
)
