"""`lab experiment --against`: this run's headline improvements beside an earlier run's."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from perflab.experiment import agreement


def _run(flag: str, improvement: float | None, key: str = "p50", **config: Any) -> dict:
    return {
        "config": {"flag": flag, "service": "fastapi", "duration_seconds": 4, "repeats": 2,
                   "users": 10, "think_seconds": None, **config},
        "key_figure": key,
        "figures": {key: {"label": f"{key} label", "improvement": improvement}},
    }  # fmt: skip


def test_improvements_within_ten_percent_agree_and_the_others_are_flagged() -> None:
    now = [_run("a", 10.5), _run("b", 3.0), _run("c", 4.0)]
    earlier = [_run("c", 4.0), _run("a", 10.0), _run("b", 2.0)]
    rows = agreement.compare(now, earlier)
    assert [r.technique for r in rows] == ["a", "b", "c"]  # this run's order
    assert [r.apart for r in rows] == pytest.approx([0.05, 0.5, 0.0])
    assert [r.agree for r in rows] == [True, False, True]
    text = agreement.markdown(rows, Path("results/earlier"))
    assert "| `a` | p50 label | 10.50× | 10.00× | 5.0% |" in text
    assert "| `b` | p50 label | 3.00× | 2.00× | 50.0% **>10%** |" in text
    assert "2 of 3 headline improvements within 10%" in text


def test_what_cannot_be_compared_says_why_and_is_not_counted() -> None:
    now = [_run("new", 5.0), _run("moved", 2.0, key="rps"), _run("blank", None)]
    earlier = [_run("moved", 2.0, key="p95"), _run("blank", 3.0), _run("gone", 7.0)]
    rows = agreement.compare(now, earlier)
    assert [(r.apart, r.why) for r in rows] == [
        (None, "not in the earlier run"),
        (None, "the earlier run's key figure was p95"),
        (None, ""),
    ]
    assert agreement.only_earlier(now, earlier) == ["gone"]
    text = agreement.markdown(rows, Path("x"), missing=["gone"])
    assert "0 of 0 headline improvements" in text
    assert "Only in the earlier run: `gone`." in text


def test_settings_the_runs_did_not_share_are_named() -> None:
    now = [_run("a", 2.0, seed=1)]
    earlier = [_run("a", 2.0, users=20, duration_seconds=20, seed=None)]
    assert agreement.setting_differences(now, earlier) == [
        "duration_seconds: 4 now, 20 earlier",
        "users: 10 now, 20 earlier",
        "seed: 1 now, None earlier",
    ]
    assert agreement.setting_differences(now, now) == []


def test_an_earlier_report_is_read_from_its_folder_or_file(tmp_path: Path) -> None:
    everything, one = tmp_path / "all", tmp_path / "one"
    everything.mkdir(), one.mkdir()
    (everything / "summary.json").write_text(json.dumps([_run("a", 2.0), _run("b", 3.0)]))
    (one / "results.json").write_text(json.dumps(_run("a", 2.0)))
    assert [r["config"]["flag"] for r in agreement.load(everything)] == ["a", "b"]
    assert [r["config"]["flag"] for r in agreement.load(one)] == ["a"]
    assert agreement.load(one / "results.json") == agreement.load(one)


@pytest.mark.parametrize(
    ("content", "why"),
    [(None, "no summary.json or results.json"), ("{", "not an experiment's JSON"),
     ('{"rows": []}', "no config and figures")],
)  # fmt: skip
def test_a_folder_that_is_no_report_is_refused_with_the_reason(
    tmp_path: Path, content: str | None, why: str
) -> None:
    if content is not None:
        (tmp_path / "results.json").write_text(content)
    with pytest.raises(agreement.AgreementError, match=why):
        agreement.load(tmp_path)


def test_a_figure_taken_to_zero_has_no_ratio_and_says_so() -> None:
    def gone(flag: str) -> dict:
        run = _run(flag, None, key="asset_requests_per_page")
        # As results.json writes it: the estimate's fields beside the improvement.
        run["figures"]["asset_requests_per_page"] |= {"better": "lower", "a": 2.02, "b": 0.0}
        return run

    now = [gone("both"), gone("now_only"), _run("earlier_only", 2.0, key="asset_requests_per_page")]
    earlier = [gone("both"), _run("now_only", 2.0, key="asset_requests_per_page"),
               gone("earlier_only")]  # fmt: skip
    rows = agreement.compare(now, earlier)
    assert [(r.apart, r.why) for r in rows] == [
        (None, "taken to 0 in both runs (no ratio to compare)"),
        (None, "taken to 0 only in the current run"),
        (None, "taken to 0 only in the earlier run"),
    ]


def _probed(run: dict, before: float, after: float) -> dict:
    return run | {"machine": {"probe_before_ms": before, "probe_after_ms": after}}


def test_each_row_sets_the_runs_cpu_probes_side_by_side_and_names_a_moved_machine() -> None:
    # cpu_offload's ratio doubled on a machine that ran the same work 1.6x slower. The
    # faster probe of each run is its speed (gzip's 9.2 ms ran beside lingering work).
    now = [_probed(_run("cpu_offload", 11.2), 8.2, 8.0), _probed(_run("gzip", 6.77), 5.1, 9.2)]
    earlier = [_probed(_run("cpu_offload", 5.9), 5.0, 5.3), _run("gzip", 6.77)]
    rows = agreement.compare(now, earlier)
    assert [(r.probe_now, r.probe_earlier) for r in rows] == [(8.0, 5.0), (5.1, None)]
    assert [r.speed_moved for r in rows] == [True, False]
    text = agreement.markdown(rows, Path("e"))
    assert "| 89.8% **>10%** | 8.00 / 5.00 ms **>10%** |" in text
    assert "| 0.0% | – |" in text  # the earlier gzip run had no probe
    assert "The machine's speed moved by more than 10% for `cpu_offload`:" in text
    assert "CPU probe –: a run without one" in text
    odd = [_run("gzip", 6.77) | {"machine": {"probe_before_ms": 5.0}}]  # no "after"
    assert agreement.compare(odd, odd)[0].probe_now is None
    same = agreement.markdown(agreement.compare(now, now), Path("e"))
    assert "speed moved" not in same and "without one" not in same
