"""The signals a technique row can draw, by the name the catalog uses for them.

Each catalog entry (`perflab.catalog`) names the signals that show its technique;
the Techniques dashboard draws them, and a test checks every name is here.
"""

from __future__ import annotations

from dataclasses import dataclass

from perflab.dashboards import queries as q


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
CPU_PER_REQUEST = Signal(
    "Service CPU per request (all processes)", "s", q.SERVICE_CPU_PER_REQUEST, "CPU s per request"
)
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
UPSTREAM_CALLS = Signal(
    "Upstream calls per second by variant and outcome", "ops", q.UPSTREAM_CALLS,
    "{{variant}} {{outcome}}",
)  # fmt: skip
UPSTREAM_RETRIES = Signal("Upstream retries per second", "ops", q.UPSTREAM_RETRIES, "retries")
BREAKER = Signal(
    "Circuit breaker (0 closed, 1 half-open, 2 open)", "short", q.BREAKER_STATE, "state"
)
BREAKER_REJECTIONS = Signal(
    "Calls refused by the open breaker per second", "ops", q.BREAKER_REJECTIONS, "failed fast"
)
NOT_MODIFIED = Signal(
    "Share of 304 (3xx) responses", "percentunit", q.NOT_MODIFIED_RATIO, "3xx share"
)

ASSETS = Signal(
    "Static asset requests per second by route and status",
    "reqps",
    q.ASSET_REQUESTS_BY_ROUTE_STATUS,
    "{{route}} {{status_class}}",
)
TEMPLATE_LOADS = Signal(
    "Templates read and compiled per second by engine", "ops", q.TEMPLATE_LOADS_BY_ENGINE,
    "{{engine}}",
)  # fmt: skip
MIDDLEWARE = Signal(
    "Middleware calls per second by class", "ops", q.MIDDLEWARE_CALLS_BY_CLASS, "{{middleware}}"
)
MEMO_ENTRIES = Signal(
    "Memo entries by variant (all processes)", "short", q.MEMO_ENTRIES_BY_VARIANT, "{{variant}}"
)
CATALOGUE_BYTES = Signal(
    "In-memory catalogue bytes by variant", "bytes", q.CATALOGUE_BYTES_BY_VARIANT, "{{variant}}"
)
SEARCH_EXAMINED = Signal(
    "Items examined per search by variant", "short", q.SEARCH_EXAMINED_PER_REQUEST, "{{variant}}"
)

SIGNALS: dict[str, Signal] = {
    "queries_per_request": QPR,
    "sql_p95": SQL_P95,
    "sql_p50": SQL_P50,
    "http_p95": HTTP_P95,
    "cache_hit_ratio": CACHE_HITS,
    "cache_lookups": CACHE_LOOKUPS,
    "connections_opened": CONNECTIONS,
    "pool_acquire_p95": ACQUIRE,
    "response_size": SIZE,
    "bytes_sent": BYTES,
    "cpu": CPU,
    "cpu_per_request": CPU_PER_REQUEST,
    "rss": RSS,
    "celery_tasks": TASKS,
    "loop_lag": LAG,
    "tasks_enqueued": ENQUEUED,
    "export_buffer": EXPORT_BUFFER,
    "upstream_in_flight": UPSTREAM,
    "not_modified_ratio": NOT_MODIFIED,
    "asset_requests": ASSETS,
    "template_loads": TEMPLATE_LOADS,
    "middleware_calls": MIDDLEWARE,
    "memo_entries": MEMO_ENTRIES,
    "catalogue_bytes": CATALOGUE_BYTES,
    "search_examined": SEARCH_EXAMINED,
    "upstream_calls": UPSTREAM_CALLS,
    "upstream_retries": UPSTREAM_RETRIES,
    "breaker_state": BREAKER,
    "breaker_rejections": BREAKER_REJECTIONS,
}
