"""Overview: is the service healthy right now, and did the last flip help?"""

from __future__ import annotations

from typing import Any

from grafana_foundation_sdk.builders.dashboard import Row

from perflab.dashboards import queries as q
from perflab.dashboards.common import dashboard, finish, flag_state, prom, stat, table, timeseries

UID = "perflab-overview"


def build() -> dict[str, Any]:
    builder = (
        dashboard(UID, "perflab / Overview", "RED figures of the API, firing alerts, flag state.")
        .with_panel(stat("Requests per second", "reqps", prom(q.RPS, "all routes")))
        .with_panel(stat("Error ratio (5xx)", "percentunit", prom(q.ERROR_RATIO, "5xx")))
        .with_panel(stat("p95 latency (all routes)", "s", prom(q.latency(0.95), "p95")))
        .with_panel(
            stat(
                "Firing alerts",
                "short",
                prom(q.ALERTS_FIRING_COUNT, "firing", instant=True),
                description='Alerts firing in Prometheus (ALERTS{alertstate="firing"}).',
            )
        )
        .with_panel(flag_state())
        .with_row(Row("Traffic"))
        .with_panel(
            timeseries("Requests per second by route", "reqps", prom(q.RPS_BY_ROUTE, "{{route}}"))
        )
        .with_panel(
            timeseries(
                "Error ratio (5xx share of all responses)",
                "percentunit",
                prom(q.ERROR_RATIO, "5xx ratio"),
            )
        )
        .with_panel(
            timeseries(
                "Latency per route (p50 / p95 / p99)",
                "s",
                prom(q.latency(0.5, "route"), "p50 {{route}}"),
                prom(q.latency(0.95, "route"), "p95 {{route}}", exemplar=True),
                prom(q.latency(0.99, "route"), "p99 {{route}}"),
                description="From perflab_http_request_duration_seconds; exemplars link to traces.",
            )
        )
        .with_panel(
            timeseries(
                "Requests in flight by route", "short", prom(q.IN_FLIGHT_BY_ROUTE, "{{route}}")
            )
        )
        .with_panel(
            timeseries(
                "Responses per second by status class",
                "reqps",
                prom(q.RPS_BY_STATUS, "{{status_class}}"),
            )
        )
        .with_panel(
            table(
                "Firing alerts by name",
                "short",
                prom(q.ALERTS_FIRING, "{{alertname}}", instant=True, as_table=True),
                description="Each firing alert with its severity; docs/alerts.md has the runbooks.",
            )
        )
    )
    return finish(builder)
