"""The PromQL the dashboards draw, named once so several panels can share it.

Raw metrics from `perflab.telemetry.metrics` (and the load generator's `perflab_loadgen_*`),
with Grafana's `$__rate_interval` / `$__range` macros. Ratios keep a zero numerator
(`or vector(0)`) so "no errors" shows 0 %, not "No data".

Every panel's query is scoped to the dashboard's `$service` selection by `scoped`
(applied by `common.prom`): each `perflab_*` (and `ALERTS`) selector gains
`service=~"$service|"`. Web services' series carry `service` (a scrape target label);
series of shared parts (the Celery worker, the load generator) have none, and the
empty alternative keeps them on every service's view. The Celery queue's figures
(`SHARED`) describe the one shared queue, whichever process sampled them (the API
does): they are never scoped.
"""

from __future__ import annotations

import re

RATE_WINDOW = "$__rate_interval"
SERVICE_MATCHER = 'service=~"$service|"'
_SELECTOR = re.compile(r"\b(perflab_\w+|ALERTS)(?:\{([^}]*)\})?")
SHARED = frozenset(
    {"perflab_celery_queue_length", "perflab_celery_queue_oldest_message_age_seconds"}
)


def scoped(expr: str) -> str:
    """`expr` with every `perflab_*` selector limited to the selected service(s)."""

    def add(match: re.Match[str]) -> str:
        name, matchers = match[1], match[2]
        if name in SHARED:
            return match[0]
        if matchers is None:
            return f"{name}{{{SERVICE_MATCHER}}}"
        if re.search(r"\bservice\s*[=!~]", matchers):
            return match[0]
        if not matchers.strip():
            return f"{name}{{{SERVICE_MATCHER}}}"
        return f"{name}{{{matchers}, {SERVICE_MATCHER}}}"

    return _SELECTOR.sub(add, expr)


def rate(selector: str, by: str = "", window: str = RATE_WINDOW) -> str:
    grouping = f"sum by ({by}) " if by else "sum"
    return f"{grouping}(rate({selector}[{window}]))"


def quantile(q: float, bucket_selector: str, by: str = "", window: str = RATE_WINDOW) -> str:
    labels = ", ".join(("le", by)) if by else "le"
    return f"histogram_quantile({q}, sum by ({labels}) (rate({bucket_selector}[{window}])))"


def mean(metric: str, matchers: str = "", by: str = "", window: str = RATE_WINDOW) -> str:
    """Mean of a histogram's observations: rate of its _sum over rate of its _count."""
    return (
        f"{rate(f'{metric}_sum{matchers}', by, window)}"
        f" / {rate(f'{metric}_count{matchers}', by, window)}"
    )


def share(numerator: str, denominator: str) -> str:
    """numerator / denominator, with a missing numerator read as 0."""
    return f"({numerator} or vector(0)) / {denominator}"


# --- HTTP ---------------------------------------------------------------------------
HTTP_REQUESTS = "perflab_http_requests_total"
HTTP_BUCKETS = "perflab_http_request_duration_seconds_bucket"
RPS = rate(HTTP_REQUESTS)
RPS_BY_ROUTE = rate(HTTP_REQUESTS, "route")
RPS_BY_STATUS = rate(HTTP_REQUESTS, "status_class")
ERROR_RATIO = share(rate(f'{HTTP_REQUESTS}{{status_class="5xx"}}'), RPS)
NOT_MODIFIED_RATIO = share(rate(f'{HTTP_REQUESTS}{{status_class="3xx"}}'), RPS)
IN_FLIGHT_BY_ROUTE = "sum by (route) (perflab_http_requests_in_progress)"


def latency(q: float, by: str = "") -> str:
    return quantile(q, HTTP_BUCKETS, by)


RESPONSE_SIZE = "perflab_http_response_size_bytes"
RESPONSE_SIZE_MEAN_BY_ROUTE = mean(RESPONSE_SIZE, by="route")
RESPONSE_SIZE_P50_BY_ROUTE = quantile(0.5, f"{RESPONSE_SIZE}_bucket", "route")
BYTES_SENT_BY_ROUTE = rate(f"{RESPONSE_SIZE}_sum", "route")

# The gzip technique's large JSON report (see perflab.api.techniques).
GZIP_ROUTE = "/reports/sales"


def while_flag(expr: str, flag: str, enabled: bool) -> str:
    """`expr` only at the times `flag` was on (or off): both states side by side."""
    return f'({expr}) and on () (max(perflab_flag_enabled{{flag="{flag}"}}) == {int(enabled)})'


GZIP_ROUTE_SIZE_P50 = quantile(0.5, f'{RESPONSE_SIZE}_bucket{{route="{GZIP_ROUTE}"}}')
GZIP_ROUTE_SIZE_MEAN = mean(RESPONSE_SIZE, f'{{route="{GZIP_ROUTE}"}}')

# Static files (static_files): WhiteNoise's /static/{path} and Django's /assets/{path}.
ASSET_ROUTES = 'route=~"/static/.*|/assets/.*"'
ASSET_REQUESTS_BY_ROUTE_STATUS = rate(f"{HTTP_REQUESTS}{{{ASSET_ROUTES}}}", "route, status_class")

# --- Django's own techniques ---------------------------------------------------------
TEMPLATE_LOADS_BY_ENGINE = rate("perflab_template_loads_total", "engine")
MIDDLEWARE_CALLS_BY_CLASS = rate("perflab_middleware_calls_total", "middleware")

# --- Alerts ---------------------------------------------------------------------------
ALERTS_FIRING = 'sum by (alertname, severity) (ALERTS{alertstate="firing"})'
ALERTS_FIRING_COUNT = 'count(ALERTS{alertstate="firing"}) or vector(0)'

# --- Flags and techniques -------------------------------------------------------------
FLAG_STATE = "max by (flag) (perflab_flag_enabled)"
TECHNIQUE = "perflab_technique_duration_seconds"
SELECTED = 'technique="$technique"'
TECHNIQUE_FLAG_STATE = 'max(perflab_flag_enabled{flag="$technique"})'
TECHNIQUE_CALLS_BY_VARIANT = rate(f"{TECHNIQUE}_count{{{SELECTED}}}", "variant")


def technique_latency(q: float) -> str:
    return quantile(q, f"{TECHNIQUE}_bucket{{{SELECTED}}}", "variant")


def technique_range_latency(q: float, variant: str) -> str:
    """The variant's quantile over the whole dashboard range (one number per variant)."""
    selector = f'{TECHNIQUE}_bucket{{{SELECTED}, variant="{variant}"}}'
    return f"histogram_quantile({q}, sum by (le) (increase({selector}[$__range])))"


def _range_mean(variant: str) -> str:
    matchers = f'{{{SELECTED}, variant="{variant}"}}'
    return (
        f"sum(increase({TECHNIQUE}_sum{matchers}[$__range]))"
        f" / sum(increase({TECHNIQUE}_count{matchers}[$__range]))"
    )


TECHNIQUE_SPEEDUP = f"({_range_mean('naive')}) / ({_range_mean('optimised')})"

UPSTREAM_IN_PROGRESS = "sum(perflab_upstream_calls_in_progress)"
UPSTREAM_CALLS = rate("perflab_upstream_calls_total", "variant, outcome")
UPSTREAM_RETRIES = rate("perflab_upstream_retries_total")
BREAKER_STATE = "max(perflab_upstream_breaker_state)"
BREAKER_REJECTIONS = rate("perflab_upstream_breaker_rejections_total")
EXPORT_BUFFER_PEAK_P95 = quantile(0.95, "perflab_export_buffer_peak_bytes_bucket", "variant")
# The memory and algorithm techniques (bounded_cache, compact_objects, search_index).
MEMO_ENTRIES_BY_VARIANT = "sum by (variant) (perflab_memo_entries)"
CATALOGUE_BYTES_BY_VARIANT = "sum by (variant) (perflab_catalogue_bytes)"
SEARCH_REQUESTS = rate(f'{HTTP_REQUESTS}{{route="/books/search"}}')
SEARCH_EXAMINED_PER_REQUEST = (
    f"{rate('perflab_search_items_examined_total', 'variant')}"
    f" / ignoring(variant) group_left {SEARCH_REQUESTS}"
)

# --- Database -------------------------------------------------------------------------
POOL_BY_STATE = "sum by (state) (perflab_db_pool_connections)"
POOL_ACQUIRE = "perflab_db_pool_acquire_seconds_bucket"
QUERIES_PER_REQUEST = "perflab_db_queries_per_request"
QUERIES_PER_REQUEST_MEAN_BY_ROUTE = mean(QUERIES_PER_REQUEST, by="route")
QUERIES_PER_REQUEST_P95_BY_ROUTE = quantile(0.95, f"{QUERIES_PER_REQUEST}_bucket", "route")
QUERY_DURATION = "perflab_db_query_duration_seconds"
QUERIES_PER_SECOND = rate(f"{QUERY_DURATION}_count")
CONNECTIONS_OPENED_BY_KIND = rate("perflab_db_connections_opened_total", "kind")


def query_latency(q: float) -> str:
    return quantile(q, f"{QUERY_DURATION}_bucket")


def pool_acquire(q: float) -> str:
    return quantile(q, POOL_ACQUIRE)


# --- Cache ----------------------------------------------------------------------------
CACHE_REQUESTS = "perflab_cache_requests_total"
CACHE_HITS = f'{CACHE_REQUESTS}{{result="hit"}}'
CACHE_HIT_RATIO_BY_CACHE = f"{rate(CACHE_HITS, 'cache')} / {rate(CACHE_REQUESTS, 'cache')}"
CACHE_LOOKUPS_BY_RESULT = rate(CACHE_REQUESTS, "cache, result")

# --- Celery ---------------------------------------------------------------------------
QUEUE_LENGTH = "max by (queue) (perflab_celery_queue_length)"
QUEUE_OLDEST_AGE = "max by (queue) (perflab_celery_queue_oldest_message_age_seconds)"
TASKS_BY_OUTCOME = rate("perflab_celery_tasks_total", "task, outcome")
WORKERS_UP = "sum(perflab_celery_worker_up)"
UNACKED = "max(perflab_celery_unacked_messages)"
UNACKED_OLDEST_AGE = "max(perflab_celery_unacked_oldest_age_seconds)"


TASKS_ENQUEUED_BY_TASK = rate("perflab_celery_tasks_enqueued_total", "task")


def task_latency(q: float) -> str:
    return quantile(q, "perflab_celery_task_duration_seconds_bucket", "task")


# --- Runtime (one series per process: job, instance, pid) -----------------------------
PROCESS_LEGEND = "{{job}} pid {{pid}}"
RSS = "perflab_process_resident_memory_bytes"
RSS_MAX = f"max by (job) ({RSS})"
CPU = "rate(perflab_process_cpu_seconds[$__rate_interval])"
# The web services' processes only: the Celery worker serves no request.
SERVICE_CPU_PER_REQUEST = (
    'sum(rate(perflab_process_cpu_seconds{job!="worker"}[$__rate_interval]))'
    " / sum(rate(perflab_http_requests_total[$__rate_interval]))"
)
GC_BY_GENERATION = rate("perflab_process_gc_collections", "job, generation")
LOOP_LAG = "perflab_event_loop_lag_seconds"
LOOP_LAG_MAX = f"max by (job) ({LOOP_LAG})"
OPEN_FDS = "perflab_process_open_fds"
PROCESSES = f"count by (job) ({RSS})"

# --- Load generator (Locust, exported as perflab_loadgen_*) --------------------------
LOADGEN_USERS = "sum(perflab_loadgen_users)"
LOADGEN_REQUESTS = "perflab_loadgen_requests_total"
LOADGEN_FAILURES = "perflab_loadgen_failures_total"
LOADGEN_BUCKETS = "perflab_loadgen_request_duration_seconds_bucket"
LOADGEN_RPS = rate(LOADGEN_REQUESTS)
LOADGEN_RPS_BY_NAME = rate(LOADGEN_REQUESTS, "name")
LOADGEN_FAILURES_BY_NAME = rate(LOADGEN_FAILURES, "name")
LOADGEN_FAILURE_RATIO = share(rate(LOADGEN_FAILURES), LOADGEN_RPS)


def client_latency(q: float, by: str = "") -> str:
    return quantile(q, LOADGEN_BUCKETS, by)
