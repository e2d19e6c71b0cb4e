"""The figures an experiment compares, and how each is measured.

Client figures come from Locust's raw samples (every request; RPS per second).
Server figures come from Prometheus, one value per arm window (so their confidence
interval is over the repeats). `better` says which direction is an improvement.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from string import Template
from typing import Literal

import numpy as np

from perflab.catalog import TECHNIQUES
from perflab.experiment import stats
from perflab.experiment.arm import ArmRun

Better = Literal["lower", "higher"]


@dataclass(frozen=True)
class ClientFigure:
    name: str
    label: str
    unit: str
    better: Better
    values: Callable[[ArmRun], list[float]]
    statistic: stats.Statistic


def _latencies(arm: ArmRun) -> list[float]:
    return [s.seconds for s in arm.measured()]


def _per_second_counts(arm: ArmRun) -> list[float]:
    measured = arm.measured()
    seconds = int(arm.window_seconds)
    if seconds < 1:
        return [float(len(measured))]
    counts = np.zeros(seconds)
    for s in measured:
        slot = int(s.at - arm.measured_from)
        if slot < seconds:
            counts[slot] += 1
    return counts.tolist()


def _failures(arm: ArmRun) -> list[float]:
    return [1.0 if s.failed else 0.0 for s in arm.measured()]


CLIENT_FIGURES = (
    ClientFigure("rps", "requests/s (client)", "req/s", "higher", _per_second_counts, stats.mean),
    ClientFigure("p50", "p50 latency (client)", "s", "lower", _latencies, stats.quantile(0.5)),
    ClientFigure("p95", "p95 latency (client)", "s", "lower", _latencies, stats.quantile(0.95)),
    ClientFigure("p99", "p99 latency (client)", "s", "lower", _latencies, stats.quantile(0.99)),
    ClientFigure("error_ratio", "error ratio (client)", "ratio", "lower", _failures, stats.mean),
)


@dataclass(frozen=True)
class ServerFigure:
    name: str
    label: str
    unit: str
    better: Better
    # PromQL over one arm window; `$route`, `$technique`, `$service` (the `service`
    # label of the web service under test) and `$w` (seconds) filled in.
    query: str

    def render(
        self, *, route: str, technique: str, window_seconds: int, service: str = "fastapi"
    ) -> str:
        return Template(self.query).substitute(
            route=route, technique=technique, w=window_seconds, service=service
        )


_R = 'route="$route",service="$service"'  # this technique's route, in the service under test
SERVER_FIGURES = (
    ServerFigure(
        "server_rps", "requests/s (server)", "req/s", "higher",
        'sum(increase(perflab_http_requests_total{route="$route",service="$service"}[${w}s])) / $w',
    ),
    ServerFigure(
        "server_p95", "p95 latency (server)", "s", "lower",
        "histogram_quantile(0.95, sum by (le) "
        '(increase(perflab_http_request_duration_seconds_bucket{route="$route",service="$service"}[${w}s])))',
    ),
    ServerFigure(
        "server_errors", "5xx ratio (server)", "ratio", "lower",
        'sum(increase(perflab_http_requests_total{route="$route",service="$service",status_class="5xx"}[${w}s])'
        " or vector(0))"
        ' / sum(increase(perflab_http_requests_total{route="$route",service="$service"}[${w}s]))',
    ),
    ServerFigure(
        "queries_per_request", "SQL statements per request", "count", "lower",
        "sum(increase(perflab_db_queries_per_request_sum{" + _R + "}[${w}s]))"
        " / sum(increase(perflab_db_queries_per_request_count{" + _R + "}[${w}s]))",
    ),
    ServerFigure(
        "pool_wait_p95", "pool acquire wait p95", "s", "lower",
        "histogram_quantile(0.95, sum by (le) "
        '(increase(perflab_db_pool_acquire_seconds_bucket{service="$service"}[${w}s])))',
    ),
    ServerFigure(
        "connections_opened", "Postgres connections opened/s", "conn/s", "lower",
        'sum(increase(perflab_db_connections_opened_total{service="$service"}[${w}s])) / $w',
    ),
    ServerFigure(
        # Per request, not per look-up: with the flag off there are no look-ups at all.
        "cache_hits_per_request", "cache hits per request", "ratio", "higher",
        'sum(increase(perflab_cache_requests_total{result="hit",service="$service"}[${w}s])'
        " or vector(0))"
        " / sum(increase(perflab_http_requests_total{" + _R + "}[${w}s]))",
    ),
    ServerFigure(
        "bytes_per_response", "bytes per response (wire)", "bytes", "lower",
        "sum(increase(perflab_http_response_size_bytes_sum{" + _R + "}[${w}s]))"
        " / sum(increase(perflab_http_response_size_bytes_count{" + _R + "}[${w}s]))",
    ),
    ServerFigure(
        "technique_p95", "p95 time in the technique's path", "s", "lower",
        "histogram_quantile(0.95, sum by (le) (increase("
        'perflab_technique_duration_seconds_bucket{technique="$technique",service="$service"}[${w}s])))',
    ),
    ServerFigure(
        "api_rss_peak", "service memory (RSS, all processes, peak)", "bytes", "lower",
        'max_over_time(sum(perflab_process_resident_memory_bytes{service="$service"})'
        "[${w}s:1s])",
    ),
    ServerFigure(
        "export_buffer_peak", "export buffer peak (mean per export)", "bytes", "lower",
        'sum(increase(perflab_export_buffer_peak_bytes_sum{service="$service"}[${w}s]))'
        ' / sum(increase(perflab_export_buffer_peak_bytes_count{service="$service"}[${w}s]))',
    ),
    ServerFigure(
        # Static files: requests for CSS/JS per page view (a browser cache hit is none).
        "asset_requests_per_page", "asset requests per page view", "count", "lower",
        'sum(increase(perflab_http_requests_total{route=~"/static/.*|/assets/.*",'
        'service="$service"}[${w}s]) or vector(0))'
        " / sum(increase(perflab_http_requests_total{" + _R + "}[${w}s]))",
    ),
    ServerFigure(
        "loop_lag_max", "event-loop lag (max)", "s", "lower",
        'max_over_time(max(perflab_event_loop_lag_seconds{service="$service"})[${w}s:1s])',
    ),
)  # fmt: skip

# The figure that tells whether a technique paid off, and the effect the lab promises
# (factor in the better direction) where one is promised: from the catalog.
KEY_FIGURES: dict[str, tuple[str, float | None]] = {
    name: (spec.key_figure, spec.promise) for name, spec in TECHNIQUES.items()
}
FIGURE_NAMES = frozenset(f.name for f in (*CLIENT_FIGURES, *SERVER_FIGURES))


def improvement(ratio: float | None, better: Better) -> float | None:
    """B/A expressed as "times better": 5.0 means five times better with the flag on."""
    if ratio is None or ratio == 0:
        return None
    return 1 / ratio if better == "lower" else ratio
