"""The figures an experiment compares, and how each is measured.

Client figures come from Locust's raw samples (every request; RPS per second).
Server figures are exact counter deltas (server_figures.py). The two figures that
need sampling over time (a peak, a maximum) come from Prometheus, only over windows
of at least four scrape intervals; a figure with no value says why (the window is
too short to sample it, or the traffic does not touch it).
"""

from __future__ import annotations

import numpy as np

from perflab.catalog import TECHNIQUES
from perflab.experiment import stats
from perflab.experiment.arm import ArmRun
from perflab.experiment.figure_types import ClientFigure, SampledFigure
from perflab.experiment.server_figures import SERVER_FIGURES


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


SAMPLED_FIGURES = (
    SampledFigure(
        "api_rss_peak", "service memory (RSS, all processes, peak)", "bytes", "lower",
        'max_over_time(sum(perflab_process_resident_memory_bytes{service="$service"})'
        "[${range}s:])",
    ),
    SampledFigure(
        "loop_lag_max", "event-loop lag (max)", "s", "lower",
        'max(max_over_time(perflab_event_loop_lag_seconds{service="$service"}[${range}s]))',
    ),
)  # fmt: skip

# The figure that tells whether a technique paid off, and the effect the lab promises
# (factor in the better direction) where one is promised: from the catalog.
KEY_FIGURES: dict[str, tuple[str, float | None]] = {
    name: (spec.key_figure, spec.promise) for name, spec in TECHNIQUES.items()
}
FIGURE_NAMES = frozenset(f.name for f in (*CLIENT_FIGURES, *SERVER_FIGURES, *SAMPLED_FIGURES))
