"""report.md of `lab profile`: the tables and flame graphs, linked inside its folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from perflab.lab.profiling.report import markdown

ROW = {
    "function": "naive", "where": "perflab/api/techniques/n_plus_one.py", "lab_code": True,
    "own_seconds": 1.5, "total_seconds": 2.0, "own_share": 0.3, "total_share": 0.4,
}  # fmt: skip
CHANGE = {
    "function": "naive", "where": "perflab/api/techniques/n_plus_one.py",
    "naive_share": 0.414, "optimised_share": 0.0, "change": -0.414, "noise": 0.036,
    "beyond_noise": True,
}  # fmt: skip


@pytest.fixture(params=["absolute", "relative"])
def out(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "profile-x"
    folder.mkdir()
    if request.param == "absolute":
        return folder
    monkeypatch.chdir(tmp_path)  # `--output profile-x`: the CLI writes absolute file paths
    return Path("profile-x")


def test_a_cpu_profile_links_its_flame_graph_and_lists_both_tables(out: Path) -> None:
    folder = out.resolve()
    summary = {
        "target": "api", "seconds": 5, "kind": "cpu", "sampled": "2 processes",
        "samples": 1234, "errors": 0, "flamegraph": str(folder / "flamegraph.svg"),
        "speedscope": str(folder / "profile.speedscope.json"),
        "top_own": [{**ROW, "lab_code": False, "where": "asyncpg/connection.py"}],
        "lab_code_by_total": [ROW],
    }  # fmt: skip
    text = markdown(summary, out)
    assert text.startswith("# Profile: api, CPU for 5 s")
    assert "![flame graph](flamegraph.svg)" in text
    assert "(profile.speedscope.json)" in text and "1,234 busy samples" in text
    assert "| 30.0% | 40.0% | 1.50 | `naive` | **perflab/api/techniques/n_plus_one.py** |" in text
    assert "| 30.0% | 40.0% | 1.50 | `naive` | asyncpg/connection.py |" in text


def test_a_flag_profile_shows_both_flame_graphs_and_the_changes(out: Path) -> None:
    folder = out.resolve()
    variants = {
        name: {
            "samples": 700, "sampled": "2 processes", "top_own": [ROW],
            "flamegraph": str(folder / name / "flamegraph.svg"),
            "speedscope": str(folder / name / "profile.speedscope.json"),
        }
        for name in ("naive", "optimised")
    }  # fmt: skip
    summary = {
        "target": "api", "seconds": 5, "kind": "flag-n_plus_one", "flag": "n_plus_one",
        "variants": variants, "changes": [CHANGE],
        "lab_changes": [{**CHANGE, "beyond_noise": False}],
    }  # fmt: skip
    text = markdown(summary, out)
    assert text.startswith("# Profile: api, n_plus_one naive vs optimised (5 s each)")
    assert "![naive flame graph](naive/flamegraph.svg)" in text
    assert "![optimised flame graph](optimised/flamegraph.svg)" in text
    # Beyond the noise in bold, within it plain.
    assert "| 41.4% | 0.0% | **-41.4 ±3.6 pts** | `naive` |" in text
    assert "| 41.4% | 0.0% | -41.4 ±3.6 pts | `naive` |" in text


def test_a_memory_profile_lists_the_sites_still_holding_memory(out: Path) -> None:
    summary = {
        "target": "api", "seconds": 2, "kind": "memory", "pid": 42,
        "flamegraph": str(out.resolve() / "memory-flamegraph.svg"),
        "top": [{"site": "perflab/api/techniques/bounded_cache.py:40", "bytes": 2048, "blocks": 3}],
    }  # fmt: skip
    text = markdown(summary, out)
    assert text.startswith("# Profile: api, memory held after 2 s (pid 42)")
    assert "![memory flame graph](memory-flamegraph.svg)" in text
    assert "| 2.0 | 3 | perflab/api/techniques/bounded_cache.py:40 |" in text


def test_an_empty_table_says_so() -> None:
    summary = {
        "target": "worker", "seconds": 1, "kind": "cpu", "sampled": "1 process", "samples": 0,
        "errors": 0, "flamegraph": "/r/flamegraph.svg", "speedscope": "/r/p.json",
        "top_own": [], "lab_code_by_total": [],
    }  # fmt: skip
    assert markdown(summary, Path("/r")).count("(no samples)") == 2
