"""The console's service overview: the dashboards' PromQL, scoped to one service's job."""

from __future__ import annotations

import re

from perflab.console.overview import OVERVIEW, WORKER, query_for
from perflab.console.signals import RATE_WINDOW

SELECTOR = re.compile(r"\b(perflab_\w+)(\{[^}]*\})?")
UNITS = {"s", "bytes", "/s", "ratio", ""}  # what console.js formats


def test_every_lab_metric_of_every_figure_is_limited_to_the_services_job() -> None:
    for figure in OVERVIEW:
        query = query_for(figure, "django")
        selectors = SELECTOR.findall(query)
        assert selectors, figure.name
        for name, matchers in selectors:
            assert 'job="django"' in matchers, (figure.name, name, query)
        assert "service" not in query, query  # no Grafana variable left behind
        assert "$" not in query, query  # no Grafana macro left behind


def test_rates_use_the_consoles_window() -> None:
    for figure in OVERVIEW:
        query = query_for(figure, "api")
        windows = re.findall(r"\[([^\]]+)\]", query)
        assert all(window == RATE_WINDOW for window in windows), query


def test_names_are_unique_and_units_are_ones_the_page_formats() -> None:
    for figures in (OVERVIEW, WORKER):
        names = [f.name for f in figures]
        assert len(names) == len(set(names))
        assert {f.unit for f in figures} <= UNITS


def test_the_worker_figures_are_the_whole_labs() -> None:
    # One queue and one worker pool; the API samples the queue, so no job is chosen.
    for figure in WORKER:
        query = query_for(figure, None)
        assert "job=" not in query and "$" not in query, query
        assert all(name.startswith("perflab_celery_") for name, _ in SELECTOR.findall(query))


def test_the_figures_cover_what_a_service_is_watched_by() -> None:
    # Latency, throughput, errors, SQL, the pool, the cache, memory and CPU.
    metrics = {name for f in OVERVIEW for name, _ in SELECTOR.findall(query_for(f, "api"))}
    assert {
        "perflab_http_requests_total",
        "perflab_http_request_duration_seconds_bucket",
        "perflab_db_queries_per_request_sum",
        "perflab_db_pool_acquire_seconds_bucket",
        "perflab_db_pool_connections",
        "perflab_cache_requests_total",
        "perflab_process_resident_memory_bytes",
        "perflab_process_cpu_seconds",
    } <= metrics
