"""Each experiment's load pace follows what its key figure counts, and the report says it."""

from __future__ import annotations

from perflab.experiment.runner import Config, Pace, pace_of


def _config(flag: str, think: float | None = None) -> Config:
    return Config(flag=flag, api="http://127.0.0.1:9", prometheus="http://127.0.0.1:9",
                  think_seconds=think)  # fmt: skip


def test_figures_that_grow_with_the_requests_get_a_closed_loop_latency_its_own_pace():
    assert pace_of(_config("response_cache")) == Pace(0.0)  # requests/s
    assert pace_of(_config("telemetry_sampling")) == Pace(0.0)  # CPU per request
    assert pace_of(_config("bounded_cache")) == Pace(0.0)  # memo entries
    assert pace_of(_config("n_plus_one")) == Pace()  # p50: each user's own pace


def test_an_explicit_think_time_wins():
    assert pace_of(_config("bounded_cache", think=0.5)) == Pace(0.5)


def test_the_report_says_which_pace():
    assert Pace(0.0).describe() == "closed loop (no think time)"
    assert Pace(0.5).describe() == "0.5 s think time per user"
    assert Pace().describe() == "each user class's own pace"
