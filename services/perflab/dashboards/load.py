"""Load: what Locust sends and sees, beside what the server measures."""

from __future__ import annotations

from typing import Any

from perflab.dashboards import queries as q
from perflab.dashboards.common import dashboard, finish, flag_state, prom, stat, timeseries

UID = "perflab-load"


def build() -> dict[str, Any]:
    builder = (
        dashboard(UID, "perflab / Load", "The load generator's view next to the server's.")
        .with_panel(
            stat("Simulated users", "short", prom(q.LOADGEN_USERS, "users"), width=6, height=9)
        )
        .with_panel(flag_state(width=18))
        .with_panel(
            timeseries(
                "Requests per second: client vs server",
                "reqps",
                prom(q.LOADGEN_RPS, "client (Locust)"),
                prom(q.RPS, "server (API)"),
            )
        )
        .with_panel(
            timeseries(
                "p95 latency: client vs server",
                "s",
                prom(q.client_latency(0.95), "client p95"),
                prom(q.latency(0.95), "server p95"),
                description="The gap: network, client-side queueing, the server's accept queue.",
            )
        )
        .with_panel(
            timeseries(
                "Client requests per second by name",
                "reqps",
                prom(q.LOADGEN_RPS_BY_NAME, "{{name}}"),
            )
        )
        .with_panel(
            timeseries(
                "Client p95 latency by name", "s", prom(q.client_latency(0.95, "name"), "{{name}}")
            )
        )
        .with_panel(
            timeseries(
                "Failures per second by name", "reqps", prom(q.LOADGEN_FAILURES_BY_NAME, "{{name}}")
            )
        )
        .with_panel(
            timeseries("Failure ratio", "percentunit", prom(q.LOADGEN_FAILURE_RATIO, "failures"))
        )
    )
    return finish(builder)
