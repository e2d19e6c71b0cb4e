"""The cheaper histogram exposes exactly what prometheus_client's own does."""

from __future__ import annotations

import prometheus_client
from prometheus_client import CollectorRegistry, generate_latest

from perflab.telemetry.fast_histogram import Histogram


def _exposition(registry: CollectorRegistry) -> list[str]:
    lines = generate_latest(registry).decode().splitlines()
    return [line for line in lines if "_created" not in line]


def test_same_buckets_sum_and_count_as_the_library_including_bounds_and_outliers():
    ours, theirs = CollectorRegistry(), CollectorRegistry()
    fast = Histogram("h", "h", ["x"], buckets=(0.1, 1, 10), registry=ours).labels(x="1")
    slow = prometheus_client.Histogram(
        "h", "h", ["x"], buckets=(0.1, 1, 10), registry=theirs
    ).labels(x="1")
    for value in (0, 0.1, 0.10001, 1, 5, 10, 11, 1e9, -1):
        fast.observe(value)
        slow.observe(value)
    assert _exposition(ours) == _exposition(theirs)
    assert 'h_bucket{le="0.1",x="1"} 3.0' in _exposition(ours)  # -1, 0 and 0.1 itself
