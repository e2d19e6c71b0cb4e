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
    return results


def test_reports_are_found_with_their_kind_and_title(tmp_path: Path) -> None:
    found = {r.path: r for r in list_reports(_results(tmp_path))}
    assert set(found) == {
        "experiment-20260101-000000", "load-20260101-000001", "experiment-all/gzip",
    }  # fmt: skip
    assert found["experiment-20260101-000000"].title == "Experiment: n_plus_one"
    assert found["load-20260101-000001"].kind == "load"
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


def test_nothing_outside_the_results_folder_is_served(tmp_path: Path) -> None:
    results = _results(tmp_path)
    (tmp_path / "secret.txt").write_text("no")
    assert inside(results, "../secret.txt") is None
    assert inside(results, "/etc/passwd") is None
    assert inside(results, "experiment-20260101-000000/timeline.png") is not None
    assert render(results, "..") is None
    assert render(results, "browser-screenshots") is None  # a folder, not a report
