"""Database: the pool, the queries each request sends, and how long they take."""

from __future__ import annotations

from typing import Any

from perflab.dashboards import queries as q
from perflab.dashboards.common import dashboard, finish, flag_state, prom, timeseries

UID = "perflab-database"


def build() -> dict[str, Any]:
    builder = (
        dashboard(UID, "perflab / Database", "asyncpg pool, queries per request, SQL latency.")
        .with_panel(flag_state())
        .with_panel(
            timeseries(
                "Pool connections by state",
                "short",
                prom(q.POOL_BY_STATE, "{{state}}"),
                description="size / idle / in_use / max, summed over API processes.",
            )
        )
        .with_panel(
            timeseries(
                "Pool acquire wait (p50 / p95 / p99)",
                "s",
                prom(q.pool_acquire(0.5), "p50"),
                prom(q.pool_acquire(0.95), "p95"),
                prom(q.pool_acquire(0.99), "p99"),
                description="Time a request waits for a pooled connection: rises at saturation.",
            )
        )
        .with_panel(
            timeseries(
                "Queries per request by route (mean)",
                "short",
                prom(q.QUERIES_PER_REQUEST_MEAN_BY_ROUTE, "{{route}}"),
                description="N+1 shows here: 1 + 2N statements naive, 2 optimised.",
            )
        )
        .with_panel(
            timeseries(
                "Queries per request by route (p95)",
                "short",
                prom(q.QUERIES_PER_REQUEST_P95_BY_ROUTE, "{{route}}"),
            )
        )
        .with_panel(
            timeseries(
                "SQL statement duration (p50 / p95 / p99)",
                "s",
                prom(q.query_latency(0.5), "p50"),
                prom(q.query_latency(0.95), "p95"),
                prom(q.query_latency(0.99), "p99"),
                description="Client-side time of one statement: the index technique moves it.",
            )
        )
        .with_panel(
            timeseries("SQL statements per second", "ops", prom(q.QUERIES_PER_SECOND, "statements"))
        )
        .with_panel(
            timeseries(
                "Connections opened per second by kind",
                "ops",
                prom(q.CONNECTIONS_OPENED_BY_KIND, "{{kind}}"),
                description="pool = the pool growing; direct = one connection per request (naive).",
            )
        )
    )
    return finish(builder)
