"""Each experiment's load pace follows what its key figure counts, and the report says it."""

from __future__ import annotations

from perflab.experiment.config import Config
from perflab.experiment.pace import FAULT_THINK_SECONDS, describe_pace, think_time


def _config(flag: str, think: float | None = None) -> Config:
    return Config(flag=flag, api="http://127.0.0.1:9", prometheus="http://127.0.0.1:9",
                  think_seconds=think)  # fmt: skip


def test_figures_that_grow_with_the_requests_get_a_closed_loop_latency_its_own_pace():
    assert think_time(_config("response_cache")) == 0.0  # requests/s
    assert think_time(_config("telemetry_sampling")) == 0.0  # CPU per request
    assert think_time(_config("bounded_cache")) == 0.0  # memo entries
    assert think_time(_config("n_plus_one")) is None  # p50: each user's own pace


def test_a_technique_measured_under_an_upstream_fault_gets_a_short_think_time():
    # Its p95 is the share of requests the spikes hit: ~100 per arm at its own pace put
    # the naive arm's p95 in or out of the spikes by chance.
    assert think_time(_config("resilience")) == FAULT_THINK_SECONDS < 0.2


def test_an_explicit_think_time_wins():
    assert think_time(_config("bounded_cache", think=0.5)) == 0.5


def test_the_report_says_which_pace():
    assert describe_pace(0.0) == "closed loop (no think time)"
    assert describe_pace(0.5) == "0.5 s think time per user"
    assert describe_pace(None) == "each user class's own pace"
