"""Reports under results/ as pages: found, rendered, charts rebased, nothing outside."""

from __future__ import annotations

import json
from pathlib import Path

from perflab.console.reports import inside, list_reports, render

PNG = bytes.fromhex("89504e470d0a1a0a")  # only the signature: enough for a listing


def _results(tmp_path: Path) -> Path:
    results = tmp_path / "results"
    exp = results / "experiment-20260101-000000"
    exp.mkdir(parents=True)
    (exp / "report.md").write_text(
        "# Experiment: n_plus_one\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n"
        "![timeline](timeline.png)\n\n[data](results.json) <script>x</script>\n"
    )
    (exp / "timeline.png").write_bytes(PNG)
    (exp / "extra.png").write_bytes(PNG)
    load = results / "load-20260101-000001"
    load.mkdir()
    (load / "summary.json").write_text(json.dumps({"requests": [], "total": None}))
    every = results / "experiment-all" / "gzip"
    every.mkdir(parents=True)
    (every / "report.md").write_text("# gzip\n")
    (results / "browser-screenshots").mkdir()
    # Folders named with --output: the kind comes from what each writer puts in them.
    run = results / "pair-a"
    (run / "gzip").mkdir(parents=True)
    (run / "summary.md").write_text("# perflab: every technique, A/B\n\n| t | x |\n|---|---|\n")
    (run / "summary.json").write_text(json.dumps([{"technique": {"name": "gzip"}}]))
    (run / "gzip" / "report.md").write_text("# Experiment: `gzip`\n")
    compared = results / "mine"
    compared.mkdir()
    (compared / "report.md").write_text("# `n_plus_one` in every framework\n")
    profiled = results / "hot"
    profiled.mkdir()
    (profiled / "summary.json").write_text(json.dumps({"top_own": []}))
    (profiled / "profile.speedscope.json").write_text("{}")
    return results


def test_reports_are_found_with_their_kind_and_title(tmp_path: Path) -> None:
    found = {r.path: r for r in list_reports(_results(tmp_path))}
    assert set(found) == {
        "experiment-20260101-000000", "load-20260101-000001", "experiment-all/gzip",
        "pair-a", "mine", "hot",
    }  # fmt: skip
    assert found["experiment-20260101-000000"].title == "Experiment: n_plus_one"
    assert {path: r.kind for path, r in found.items()} == {
        "experiment-20260101-000000": "experiment", "load-20260101-000001": "load",
        "experiment-all/gzip": "experiment", "pair-a": "experiment", "mine": "compare",
        "hot": "profile",
    }  # fmt: skip
    assert found["pair-a"].title == "perflab: every technique, A/B"
    assert list_reports(tmp_path / "missing") == []


def test_a_report_renders_with_tables_rebased_charts_and_no_raw_html(tmp_path: Path) -> None:
    page = render(_results(tmp_path), "experiment-20260101-000000")
    assert page is not None
    assert "<table>" in page["html"]
    assert 'src="/results/experiment-20260101-000000/timeline.png"' in page["html"]
    assert 'href="/results/experiment-20260101-000000/results.json"' in page["html"]
    assert "<script>" not in page["html"]
    # The chart the markdown does not show is listed below it.
    assert page["charts"] == ["/results/experiment-20260101-000000/extra.png"]


def test_an_all_run_shows_its_summary_table_and_only_a_load_run_a_request_table(
    tmp_path: Path,
) -> None:
    results = _results(tmp_path)
    run = render(results, "pair-a")
    assert run is not None
    assert "<table>" in run["html"] and run["summary"] is None
    assert [r.path for r in run["subreports"]] == ["gzip"]
    load = render(results, "load-20260101-000001")
    assert load is not None and load["summary"] == {"requests": [], "total": None}
    profile = render(results, "hot")
    assert profile is not None and profile["summary"] is None


def test_nothing_outside_the_results_folder_is_served(tmp_path: Path) -> None:
    results = _results(tmp_path)
    (tmp_path / "secret.txt").write_text("no")
    assert inside(results, "../secret.txt") is None
    assert inside(results, "/etc/passwd") is None
    assert inside(results, "experiment-20260101-000000/timeline.png") is not None
    assert render(results, "..") is None
    assert render(results, "browser-screenshots") is None  # a folder, not a report
