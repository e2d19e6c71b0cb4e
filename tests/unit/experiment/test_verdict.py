"""The three verdict states against a promise, the agreement of repeats, and no verdict
for arms that mostly failed."""

from __future__ import annotations

from types import SimpleNamespace
from typing import cast

import pytest

from perflab.experiment.effects import FigureResult
from perflab.experiment.report import _summary_row, failing, verdict
from perflab.experiment.result import Result
from perflab.experiment.stats import RatioEstimate
from perflab.experiment.verdict import Effect, against, spread, state


@pytest.mark.parametrize(
    ("effect", "expected"),
    [
        # The interval's lower end reaches the promise: met.
        (Effect(6.0, 5.2, 6.8), "met"),
        (Effect(5.0, 5.0, 5.5), "met"),  # exactly at the promise counts
        # The point estimate reaches it, the interval reaches below: likely.
        (Effect(5.23, 4.53, 5.81), "likely"),
        (Effect(5.0, 4.9, 5.1), "likely"),
        # The point estimate is below it: missed, whatever the interval's top.
        (Effect(4.98, 4.2, 5.6), "missed"),
        (Effect(0.8, 0.7, 0.9), "missed"),
    ],
)
def test_three_states_against_a_promise_of_five(effect: Effect, expected: str):
    assert state(effect, 5.0) == expected


def test_without_an_interval_a_reached_promise_is_only_likely():
    assert state(Effect(7.0), 5.0) == "likely"
    assert state(Effect(3.0), 5.0) == "missed"


def test_the_verdict_sits_next_to_the_estimate_and_its_interval():
    assert against(Effect(5.23, 4.53, 5.81), 5) == (
        "5.23× (95% CI 4.53–5.81×), promised ≥ 5×: likely"
    )
    assert against(Effect(0.5, 0.4, 0.6), 3).startswith("0.50× (worse) (95% CI")


def test_repeats_that_disagree_by_more_than_ten_percent_are_flagged():
    close = spread([5.0, 5.2, 5.4])
    assert close.value == pytest.approx(0.08)
    assert not close.disagree
    apart = spread([7.75, 5.23, 4.98])  # the three runs of the issue
    assert apart.value == pytest.approx(7.75 / 4.98 - 1)
    assert apart.disagree
    assert "disagree" in apart.describe() and "disagree" not in close.describe()


def test_one_pair_or_missing_pairs_give_no_spread():
    assert spread([5.0]).value is None and not spread([5.0]).disagree
    assert spread([None, 4.0]).value is None
    assert spread([None, 4.0, 4.2]).factors == (4.0, 4.2)


def _errors(a: float, b: float) -> FigureResult:
    estimate = RatioEstimate(a=a, b=b, ratio=None, low=None, high=None, n_a=100, n_b=100)
    return FigureResult("error_ratio", "error ratio (client)", "ratio", "lower", "client", estimate)


def test_an_arm_that_mostly_failed_gets_no_verdict():
    # A service answering 500s is fast and even: its latency "improvement" means nothing.
    broken = cast(Result, SimpleNamespace(figures=[_errors(1.0, 1.0)]))
    assert failing(broken) == "100% of requests failed with the flag off, 100% with it on"
    assert failing(cast(Result, SimpleNamespace(figures=[_errors(0.0, 0.2)]))) is not None
    assert failing(cast(Result, SimpleNamespace(figures=[_errors(0.01, 0.05)]))) is None
    assert failing(cast(Result, SimpleNamespace(figures=[]))) is None


def _assets(a: float, b: float) -> FigureResult:
    ratio = b / a if a else None
    estimate = RatioEstimate(a=a, b=b, ratio=ratio, low=ratio, high=ratio, n_a=2, n_b=2)
    return FigureResult(
        "asset_requests_per_page", "asset requests per page view", "count", "lower", "server",
        estimate, pairs=[None, None],
    )  # fmt: skip


def _result(figure: FigureResult, promise: float | None) -> Result:
    config = SimpleNamespace(flag="static_files")
    return cast(
        Result,
        SimpleNamespace(config=config, figures=[figure], key=lambda: (figure, promise)),
    )


def test_a_figure_the_flag_takes_to_zero_is_reported_as_gone_not_as_missing():
    # static_files: every optimised page view made no asset request at all.
    gone = _assets(2.02, 0.0)
    assert gone.eliminated and gone.effect() is None
    assert verdict(_result(gone, None)) == (
        "static_files on: asset requests per page view 2.02 → 0 with the flag on: "
        "none left (no finite ratio)."
    )
    assert verdict(_result(gone, 2.0)).endswith("promised ≥ 2×: met.")
    row = _summary_row(_result(gone, None))
    assert "| 2.02 | 0 | none left (no finite ratio) |" in row and "no data" not in row
    # Only lower-is-better figures, and only from something to nothing.
    assert not _assets(0.0, 0.0).eliminated
    assert not _assets(2.0, 0.5).eliminated
    halved = _assets(2.0, 1.0)
    assert verdict(_result(halved, None)).startswith(
        "static_files on: asset requests per page view improvement 2.00×"
    )
