"""Each experiment's load pace follows what its key figure counts."""

from __future__ import annotations

from perflab.experiment.runner import Config, Pace, pace_of


def _config(flag: str, think: float | None = None) -> Config:
    return Config(flag=flag, api="http://127.0.0.1:9", prometheus="http://127.0.0.1:9",
                  think_seconds=think)  # fmt: skip


def test_counts_of_requests_get_a_fixed_rate_throughput_a_closed_loop_latency_own_pace():
    # bounded_cache counts memo entries: as many requests in every run, whatever the speed.
    assert pace_of(_config("bounded_cache")) == Pace(rate_per_user=40.0)
    assert pace_of(_config("response_cache")) == Pace(think_seconds=0.0)  # requests/s
    assert pace_of(_config("telemetry_sampling")) == Pace(think_seconds=0.0)  # CPU/request
    assert pace_of(_config("n_plus_one")) == Pace()  # p50: each user's own pace


def test_an_explicit_think_time_wins():
    assert pace_of(_config("bounded_cache", think=0.5)) == Pace(think_seconds=0.5)


def test_the_report_says_which_pace():
    assert Pace(rate_per_user=40.0).describe(10) == "each user at 40 requests/s (400/s in all)"
    assert Pace(think_seconds=0.0).describe(10) == "closed loop (no think time)"
    assert Pace().describe(10) == "each user class's own pace"
