"""Each service's health at a glance: the figures the Grafana dashboards lead with.

Requests/s, latency, errors, SQL per request, the DB pool, the cache, memory and CPU of
one service (memory and CPU summed over its processes), over the console's window,
with every flip marked: what moves when a flag goes off, without Grafana (which the
native lab may not have). The PromQL is the dashboards' own (`dashboards.queries`),
scoped to the service's Prometheus job instead of Grafana's `$service` variable and
read over the console's rate window.
"""

from __future__ import annotations

from dataclasses import dataclass

from perflab.console.signals import job_scoped
from perflab.dashboards import queries as q


@dataclass(frozen=True)
class ServiceFigure:
    name: str
    label: str
    unit: str  # as the page formats it: "s", "bytes", "/s", "ratio" or ""
    expr: str  # a dashboard query, with Grafana's macros
    # What no data means for this figure (the page shows it instead of a number).
    idle: str = "no traffic right now"


POOL_IN_USE = 'sum(perflab_db_pool_connections{state="in_use"})'

OVERVIEW = (
    ServiceFigure("rps", "requests/s", "/s", q.RPS),
    ServiceFigure("p50", "p50 latency", "s", q.latency(0.5)),
    ServiceFigure("p95", "p95 latency", "s", q.latency(0.95)),
    ServiceFigure("errors", "5xx share", "ratio", q.ERROR_RATIO),
    ServiceFigure("queries", "SQL per request", "", q.mean(q.QUERIES_PER_REQUEST)),
    ServiceFigure(
        "pool_wait", "pool wait p95", "s", q.pool_acquire(0.95),
        idle="no connection taken from a pool right now",
    ),
    ServiceFigure("pool_in_use", "pool conns in use", "", POOL_IN_USE, idle="no pool"),
    ServiceFigure(
        "cache_hits", "cache hit ratio", "ratio",
        f"{q.rate(q.CACHE_HITS)} / {q.rate(q.CACHE_REQUESTS)}",
        idle="no cache look-up right now",
    ),
    ServiceFigure("rss", "memory (RSS)", "bytes", f"sum({q.RSS})"),
    ServiceFigure("cpu", "CPU (cores busy)", "", f"sum({q.CPU})"),
)  # fmt: skip


# The Celery side, for the whole lab: one broker queue and one worker pool, whichever
# process samples them (the API samples the queue).
WORKER = (
    ServiceFigure("workers_up", "workers up", "", q.WORKERS_UP, idle="no worker reports"),
    ServiceFigure("queued", "messages queued", "", "max(perflab_celery_queue_length)"),
    ServiceFigure(
        "oldest", "oldest queued", "s", "max(perflab_celery_queue_oldest_message_age_seconds)"
    ),
    ServiceFigure("reserved", "tasks reserved", "", q.UNACKED),
    ServiceFigure(
        "done", "tasks done/s", "/s", q.rate('perflab_celery_tasks_total{outcome="success"}')
    ),
    ServiceFigure(
        "failed", "tasks failed/s", "/s", q.rate('perflab_celery_tasks_total{outcome="failure"}')
    ),
    ServiceFigure(
        "task_p95", "task p95", "s",
        q.quantile(0.95, "perflab_celery_task_duration_seconds_bucket"),
        idle="no task finished right now",
    ),
)  # fmt: skip


def query_for(figure: ServiceFigure, job: str | None) -> str:
    """The figure's PromQL: every lab metric limited to `job`, or the whole lab's."""
    return job_scoped(figure.expr, job)
