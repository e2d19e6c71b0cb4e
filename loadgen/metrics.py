"""Load-side metrics for Prometheus: users, requests, failures, client-side latency.

A collector reads Locust's own statistics at scrape time instead of counting requests
itself. In a single process those are this process's requests; on a distributed
master they are what every worker reported (every 3 s), so one exporter on the master
covers the whole fleet. Labels are the request `name` (a route template) and method:
bounded sets. The latency histogram uses the server's buckets, so dashboards can
put the client's and the server's p95 side by side. Locust keeps response times
rounded to 1 ms under 100 ms (10 ms under 1 s), which is the histogram's resolution.

A stats reset (new test in the UI) makes the counters start again from zero, which
Prometheus' rate() treats as a counter reset. `PERFLAB_LOADGEN_RUN` (set by `lab load`
to its report folder's name) adds a `run` label, so each run's series stand apart.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from typing import Any
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)

PORT_ENV = "PERFLAB_LOADGEN_METRICS_PORT"
# Loopback by default; a container sets 0.0.0.0 (its published port stays on loopback).
HOST_ENV = "PERFLAB_LOADGEN_METRICS_HOST"
RUN_ENV = "PERFLAB_LOADGEN_RUN"
DEFAULT_PORT = 9646
# The API's LATENCY_BUCKETS (perflab.telemetry.metrics), in seconds.
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def histogram_buckets(response_times_ms: dict[int, int]) -> list[tuple[str, float]]:
    """Locust's {rounded ms: count} -> cumulative Prometheus buckets (le in seconds)."""
    bounds = [*BUCKETS, float("inf")]
    counts = [0] * len(bounds)
    for ms, count in response_times_ms.items():
        seconds = ms / 1000
        for i, bound in enumerate(bounds):
            if seconds <= bound:
                counts[i] += count
                break
    cumulative: list[tuple[str, float]] = []
    running = 0
    for bound, count in zip(bounds, counts, strict=True):
        running += count
        cumulative.append(("+Inf" if bound == float("inf") else repr(bound), running))
    return cumulative


class LocustCollector(Collector):
    def __init__(self, environment: Any, run: str | None = None) -> None:
        self.environment = environment
        self.run = run

    def _gauge(self, name: str, doc: str, value: float) -> GaugeMetricFamily:
        names, values = (["run"], [self.run]) if self.run else ([], [])
        gauge = GaugeMetricFamily(name, doc, labels=names)
        gauge.add_metric(values, value)
        return gauge

    def collect(self) -> Iterator[Metric]:
        runner, stats = self.environment.runner, self.environment.stats
        clients = getattr(runner, "clients", None)
        yield self._gauge(
            "perflab_loadgen_users",
            "Simulated users running now.",
            runner.user_count if runner is not None else 0,
        )
        yield self._gauge(
            "perflab_loadgen_workers",
            "Locust worker processes connected (0: not distributed).",
            len(clients.ready) + len(clients.running) if clients else 0,
        )
        yield self._gauge(
            "perflab_loadgen_current_rps",
            "Locust's own requests per second (last seconds).",
            stats.total.current_rps if stats is not None else 0.0,
        )
        names = ["name", "method", *(["run"] if self.run else [])]
        requests = CounterMetricFamily(
            "perflab_loadgen_requests", "Requests sent, by request name.", labels=names
        )
        failures = CounterMetricFamily(
            "perflab_loadgen_failures",
            "Requests that failed (error or wrong answer), by request name.",
            labels=names,
        )
        duration = HistogramMetricFamily(
            "perflab_loadgen_request_duration_seconds",
            "Client-side latency, as Locust measures it.",
            labels=names,
        )
        entries = list(stats.entries.values()) if stats is not None else []
        for entry in entries:
            labels = [entry.name, entry.method or "", *([self.run] if self.run else [])]
            requests.add_metric(labels, entry.num_requests)
            failures.add_metric(labels, entry.num_failures)
            duration.add_metric(
                labels,
                histogram_buckets(dict(entry.response_times)),
                sum_value=entry.total_response_time / 1000,
            )
        yield requests
        yield failures
        yield duration


def build_registry(environment: Any, run: str | None = None) -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(LocustCollector(environment, run or os.environ.get(RUN_ENV) or None))
    # Locust's own CPU and memory: a saturated load generator shows up here first.
    ProcessCollector(namespace="perflab_loadgen", registry=registry)
    return registry


def metrics_port() -> int:
    return int(os.environ.get(PORT_ENV, DEFAULT_PORT))


def start_exporter(environment: Any, port: int | None = None) -> WSGIServer | None:
    """Serve /metrics on 127.0.0.1:`port` (0 disables); None when not started."""
    port = metrics_port() if port is None else port
    if port <= 0:
        return None
    host = os.environ.get(HOST_ENV, "127.0.0.1")
    try:
        server, _ = start_http_server(port, addr=host, registry=build_registry(environment))
    except OSError as exc:
        # The load still runs; only its metrics are missing, and the log says why.
        log.error("loadgen metrics: cannot listen on %s:%s (%s)", host, port, exc)
        return None
    log.info("loadgen metrics on http://%s:%s/metrics", host, port)
    return server
