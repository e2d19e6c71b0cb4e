"""Reports under results/ as pages: found, rendered, charts rebased, nothing outside;
the list reads a report's files only when they change."""

from __future__ import annotations

import json
import os
import shutil
from collections import Counter
from pathlib import Path

import pytest

from perflab.console import reports
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


REPORTS = (
    "experiment-20260101-000000", "load-20260101-000001", "experiment-all/gzip", "pair-a",
    "mine", "hot",
)  # fmt: skip


def _count_parses(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """How many times the listing read each report's files, by report path."""
    parses: Counter[str] = Counter()
    parse = reports.parse_report

    def counted(folder: Path, relative: Path) -> tuple[str, str]:
        parses[relative.as_posix()] += 1
        return parse(folder, relative)

    monkeypatch.setattr(reports, "parse_report", counted)
    return parses


def _later(path: Path) -> None:
    """Move a file's mtime a second on: a change whatever the filesystem's clock grain."""
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))


def test_listing_again_reads_no_report_twice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    results = _results(tmp_path)
    parses = _count_parses(monkeypatch)
    first = list_reports(results)
    assert parses == Counter(REPORTS)
    assert list_reports(results) == first
    assert list_reports(tmp_path / "." / "results") == first  # the same folder, spelt otherwise
    assert parses == Counter(REPORTS)


def test_a_rewritten_or_touched_report_alone_is_read_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    results = _results(tmp_path)
    parses = _count_parses(monkeypatch)
    list_reports(results)
    (results / "mine" / "report.md").write_text("# Profile: `n_plus_one`, rewritten\n")
    _later(results / "mine" / "report.md")
    _later(results / "hot" / "summary.json")  # same bytes, newer: read again all the same
    (results / "profile-new").mkdir()
    (results / "profile-new" / "report.md").write_text("# Profile: new\n")
    found = {r.path: r for r in list_reports(results)}
    assert (found["mine"].kind, found["mine"].title) == (
        "profile",
        "Profile: `n_plus_one`, rewritten",
    )
    assert found["profile-new"].title == "Profile: new"
    assert parses == Counter(REPORTS) + Counter(["mine", "hot", "profile-new"])


def test_a_deleted_report_leaves_the_list_and_the_memo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    results = _results(tmp_path)
    load = results / "load-20260101-000001"
    before = (load / "summary.json").stat()
    parses = _count_parses(monkeypatch)
    list_reports(results)
    shutil.rmtree(load)
    assert "load-20260101-000001" not in {r.path for r in list_reports(results)}
    # Put back byte for byte with the same mtime: the same memo key, read again all the
    # same because the listing that missed it forgot it.
    load.mkdir()
    (load / "summary.json").write_text(json.dumps({"requests": [], "total": None}))
    os.utime(load / "summary.json", ns=(before.st_atime_ns, before.st_mtime_ns))
    assert "load-20260101-000001" in {r.path for r in list_reports(results)}
    assert parses == Counter(REPORTS) + Counter(["load-20260101-000001"])
