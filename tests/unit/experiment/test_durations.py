"""A key figure sampled by Prometheus extends the arms, saying why; exact ones do not."""

from __future__ import annotations

import pytest

from perflab.experiment import pace
from perflab.experiment.config import Config
from perflab.experiment.pace import measured_seconds


def _config(flag: str, duration: float) -> Config:
    return Config(flag=flag, api="http://127.0.0.1:9", prometheus="http://127.0.0.1:9",
                  duration_seconds=duration)  # fmt: skip


def test_a_key_figure_sampled_by_prometheus_extends_the_arms_to_four_scrapes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # No technique keys on a sampled figure today (cpu_offload moved to the exact loop
    # delay); one that did would get arms long enough to sample.
    monkeypatch.setitem(pace.KEY_FIGURES, "cpu_offload", ("loop_lag_max", None))
    seconds, why = measured_seconds(_config("cpu_offload", 4), interval=5.0)
    assert seconds == 20.0
    assert why is not None and "every 5 s" in why and "20 s instead of 4 s" in why
    assert measured_seconds(_config("cpu_offload", 30), interval=5.0) == (30, None)
    assert measured_seconds(_config("cpu_offload", 4), interval=None) == (4, None)


def test_exact_figures_need_no_extension():
    assert measured_seconds(_config("n_plus_one", 4), interval=5.0) == (4, None)
    assert measured_seconds(_config("cpu_offload", 4), interval=5.0) == (4, None)
