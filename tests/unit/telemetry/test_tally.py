"""Tallies expose exactly what direct updates would, and lose nothing to a racing flush."""

from __future__ import annotations

import random
import sys
import threading

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest

from perflab.telemetry import tally
from perflab.telemetry.fast_histogram import Histogram

BUCKETS = (0.001, 0.01, 0.1, 1.0)


def _exposition(registry: CollectorRegistry) -> list[str]:
    return [
        line for line in generate_latest(registry).decode().splitlines() if "_created" not in line
    ]


def _metrics(registry: CollectorRegistry) -> tuple:
    return (
        Histogram("h", "h", ["x"], buckets=BUCKETS, registry=registry).labels(x="1"),
        Counter("c", "c", ["x"], registry=registry).labels(x="1"),
        Gauge("g", "g", ["x"], registry=registry).labels(x="1"),
    )


def test_flushed_tallies_expose_what_direct_updates_do():
    direct, tallied = CollectorRegistry(), CollectorRegistry()
    histogram, counter, gauge = _metrics(direct)
    t_histogram, t_counter, t_gauge = _metrics(tallied)
    h, c, g = (
        tally.HistogramTally(t_histogram),
        tally.CounterTally(t_counter),
        tally.GaugeTally(t_gauge),
    )
    values = [0, 0.001, 0.0010001, 0.05, 1.0, 7.5, 1e9] + [random.random() for _ in range(500)]
    for i, value in enumerate(values):
        histogram.observe(value), h.observe(value)
        counter.inc(), c.inc()
        gauge.inc(), g.inc()
        if i % 3:
            gauge.dec(), g.dec()
        if i % 97 == 0:
            tally.flush()  # flushing part-way must not change the end result
    tally.flush()
    assert _exposition(tallied) == _exposition(direct)


def test_updates_made_while_other_threads_flush_are_all_counted_once():
    registry = CollectorRegistry()
    histogram, counter, _ = _metrics(registry)
    h, c = tally.HistogramTally(histogram), tally.CounterTally(counter)
    writes = 200_000
    done = threading.Event()

    def flush_until_done() -> None:
        while not done.is_set():
            tally.flush()

    flushers = [threading.Thread(target=flush_until_done) for _ in range(2)]
    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # interleave the threads as often as the GIL allows
    try:
        for thread in flushers:
            thread.start()
        for _ in range(writes):  # the one writer, as the event loop is
            h.observe(0.005)
            c.inc()
    finally:
        done.set()
        for thread in flushers:
            thread.join()
        sys.setswitchinterval(switch)
    tally.flush()
    assert registry.get_sample_value("c_total", {"x": "1"}) == writes
    assert registry.get_sample_value("h_count", {"x": "1"}) == writes
    assert registry.get_sample_value("h_bucket", {"x": "1", "le": "0.01"}) == writes
    assert registry.get_sample_value("h_bucket", {"x": "1", "le": "0.001"}) == 0
    assert abs(registry.get_sample_value("h_sum", {"x": "1"}) - writes * 0.005) < 1e-6


def test_tallies_are_used_only_where_values_are_buffered():
    # The unit tests run without PROMETHEUS_MULTIPROC_DIR: children are updated directly.
    assert tally.enabled() is False


def test_owned_histogram_tallies_the_owner_thread_and_updates_directly_from_others(
    monkeypatch,
):
    registry = CollectorRegistry()
    child = Histogram("h", "h", ["x"], buckets=BUCKETS, registry=registry).labels(x="1")
    owned = tally.OwnedHistogram(child)
    # As `own_this_thread()` does in multiprocess mode.
    monkeypatch.setattr(tally, "_owner", threading.get_ident())

    def from_another_thread() -> None:
        for _ in range(50):
            owned.observe(0.5)

    for _ in range(100):
        owned.observe(0.005)
    other = threading.Thread(target=from_another_thread)
    other.start()
    other.join()
    # The other thread's updates are in already; the owner's wait for the flush.
    assert registry.get_sample_value("h_count", {"x": "1"}) == 50
    tally.flush()
    assert registry.get_sample_value("h_count", {"x": "1"}) == 150
    assert registry.get_sample_value("h_bucket", {"x": "1", "le": "0.01"}) == 100
    assert abs(registry.get_sample_value("h_sum", {"x": "1"}) - (0.5 + 25)) < 1e-9


def test_owned_histogram_without_an_owner_updates_directly():
    registry = CollectorRegistry()
    child = Histogram("h", "h", buckets=BUCKETS, registry=registry)
    owned = tally.OwnedHistogram(child)
    tally.own_this_thread()  # not multiprocess mode: no owner is set
    owned.observe(0.05)
    assert registry.get_sample_value("h_count") == 1
