"""The overhead benchmark's arithmetic: ratios are taken within each round."""

from __future__ import annotations

import pytest

from perflab.bench.overhead import _summarise, configs, render, targets


def _figures(rps: float, p95_ms: float, cpu_ms: float) -> dict[str, float]:
    return {"rps": rps, "p50_ms": p95_ms / 2, "p95_ms": p95_ms, "cpu_ms_per_request": cpu_ms}


SETUP = {
    "endpoint": "GET /books/{id}",
    "duration_s": 5.0,
    "rounds": 3,
    "processes": 2,
    "connections": 16,
    "pinned": True,
}


def test_ratios_are_paired_within_rounds_so_drift_between_rounds_cancels():
    # The machine slows down by half between rounds; within each round tracing costs
    # exactly 10 % of throughput. Medians of each figure alone would mix the rounds.
    per_round = [
        {
            "off": _figures(1000 * speed, 4.0 / speed, 0.2),
            "metrics": _figures(980 * speed, 4.1 / speed, 0.204),
            "metrics+tracing(10%)": _figures(900 * speed, 4.4 / speed, 0.22),
        }
        for speed in (1.0, 0.5, 0.8)
    ]
    report = _summarise(per_round, {"requests": 3, "bytes": 100}, SETUP, targets(0.1))
    tracing = report["configs"]["metrics+tracing(10%)"]
    assert tracing["throughput_ratio"] == pytest.approx(0.9)
    assert tracing["throughput_ratio_range"] == pytest.approx([0.9, 0.9])
    assert tracing["p95_ratio"] == pytest.approx(1.1)
    assert tracing["cpu_ratio"] == pytest.approx(1.1)
    assert tracing["rps"] == pytest.approx(720)  # the median round's figure
    assert tracing["within_target"] is True
    assert report["configs"]["metrics"]["within_target"] is True
    assert "within_target" not in report["configs"]["off"]
    assert "0.900 [0.900..0.900]" in render(report)


def test_a_configuration_under_its_target_is_reported_over():
    per_round = [
        {
            "off": _figures(1000, 4.0, 0.2),
            "metrics": _figures(900, 4.4, 0.22),  # -10 %: the target is -5 %
            "metrics+tracing(10%)": _figures(800, 5.0, 0.25),
        }
    ]
    report = _summarise(per_round, {"requests": 0, "bytes": 0}, SETUP | {"rounds": 1}, targets(0.1))
    assert report["configs"]["metrics"]["within_target"] is False
    assert report["configs"]["metrics+tracing(10%)"]["within_target"] is False
    assert render(report).count("OVER") == 2


def test_configurations_are_off_metrics_the_given_ratio_and_everything():
    measured = configs(0.05)
    assert list(measured) == [
        "off", "metrics", "metrics+tracing(5%)", "metrics+tracing(100%)",
    ]  # fmt: skip
    assert measured["metrics+tracing(5%)"]["TRACE_SAMPLE_RATIO"] == "0.05"
    assert measured["off"] == {"METRICS_ENABLED": "false", "TRACING_ENABLED": "false"}
    assert targets(0.05) == {"metrics": 0.95, "metrics+tracing(5%)": 0.90}
