"""Bootstrap ratio estimates and improvement factors of `lab experiment`."""

from __future__ import annotations

import numpy as np
import pytest

from perflab.experiment import stats
from perflab.experiment.figure_types import improvement


def test_ci_of_a_known_ratio_contains_it_and_is_reproducible():
    rng = np.random.default_rng(1)
    a = rng.exponential(0.050, 4000)  # naive: mean 50 ms
    b = rng.exponential(0.010, 4000)  # optimised: mean 10 ms
    first = stats.bootstrap_ratio(a, b, stats.quantile(0.95), n_boot=500)
    again = stats.bootstrap_ratio(a, b, stats.quantile(0.95), n_boot=500)
    assert first == again
    assert first.ratio == pytest.approx(0.2, rel=0.15)
    assert first.low is not None and first.high is not None
    assert first.low < first.ratio < first.high
    assert first.low < 0.2 < first.high
    assert (first.n_a, first.n_b) == (4000, 4000)


def test_identical_arms_give_a_ci_around_one():
    values = np.random.default_rng(2).normal(100, 5, 2000)
    est = stats.bootstrap_ratio(values, values.copy(), stats.mean, n_boot=500)
    assert est.ratio == 1.0
    assert est.low is not None and est.high is not None and est.low < 1.0 < est.high


def test_zero_baseline_has_no_ratio_and_empty_arm_is_an_error():
    est = stats.bootstrap_ratio([0.0, 0.0], [1.0, 2.0], stats.mean, n_boot=50)
    assert est.ratio is None
    assert stats.bootstrap_ratio([0.0], [0.0], stats.mean, n_boot=10).ratio == 1.0
    with pytest.raises(ValueError):
        stats.bootstrap_ratio([], [1.0], stats.mean)


@pytest.mark.parametrize(
    ("ratio", "better", "expected"),
    [(0.2, "lower", 5.0), (3.0, "higher", 3.0), (2.0, "lower", 0.5), (None, "lower", None)],
)
def test_improvement_is_times_better_in_the_figures_direction(ratio, better, expected):
    assert improvement(ratio, better) == expected
