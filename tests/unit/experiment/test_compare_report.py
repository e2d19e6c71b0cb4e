"""`lab compare`: the report's structure, from synthetic arms (no server involved).

The arms hold known latencies (naive 4x slower in fastapi, 2x in flask) and the window
figures known CPU per request and memory (what two scrapes of each service's /metrics
give), so the table's rows, the improvements and the charts can be checked; django
answers nothing and must say why.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import typer

from perflab.catalog import TECHNIQUES
from perflab.experiment import compare, compare_report
from perflab.experiment.arm import ArmRun, Sample
from perflab.experiment.compare_cli import default_targets, parse_targets
from perflab.experiment.config import Config
from perflab.experiment.effects import compare as compare_figures
from perflab.experiment.result import Result
from perflab.experiment.server_figures import SERVER_FIGURES

SERVER_NAMES = [f.name for f in SERVER_FIGURES]


def _arm(label: str, repeat: int, enabled: bool, latency: float, seed: int) -> ArmRun:
    rng = np.random.default_rng(seed)
    samples = [
        Sample(at=100.0 + i * 0.05, name="/books", seconds=float(s), size=100, failed=False)
        for i, s in enumerate(rng.normal(latency, latency / 10, 150).clip(0.0001))
    ]
    return ArmRun(label, repeat, enabled, 99.0, 100.0, samples[-1].at, samples)


# Per arm window: the service's CPU seconds per request and its RSS at the window's end.
WINDOWS = {"A1": (0.0040, 100e6), "A2": (0.0042, 101e6), "B1": (0.0010, 90e6), "B2": (0.0011, 91e6)}


def _service_run(service: str, slowdown: float, seed: int) -> compare.ServiceRun:
    config = Config(
        flag="n_plus_one", api=f"http://{service}", prometheus="http://prom", service=service
    )
    result = Result(config=config, technique=TECHNIQUES["n_plus_one"].describe(service))
    for repeat in (1, 2):
        result.arms.append(_arm("A", repeat, False, 0.010 * slowdown, seed + repeat))
        result.arms.append(_arm("B", repeat, True, 0.010, seed + 10 + repeat))
    for arm, (cpu, rss) in WINDOWS.items():
        result.server[arm] = dict.fromkeys(SERVER_NAMES)  # no Prometheus
        result.server[arm] |= {"api_cpu_per_request": cpu, "service_rss": rss}
    result.figures = compare_figures(result.arms, result.server, result.why)
    return compare.ServiceRun(service, f"http://{service}", result=result)


@pytest.fixture(scope="module")
def comparison() -> compare.Comparison:
    runs = [
        _service_run("fastapi", 4.0, 1),
        compare.ServiceRun("django", "http://django", skipped="django is not answering"),
        _service_run("flask", 2.0, 2),
    ]
    settings = {"duration_seconds": 5, "warmup_seconds": 1, "repeats": 2, "users": 4}
    settings |= {"think_seconds": None, "seed": 1}
    return compare.Comparison(TECHNIQUES["n_plus_one"], runs, settings)


def test_the_report_has_a_row_per_framework_and_figure_and_a_chart_per_figure(
    comparison: compare.Comparison, tmp_path: Path
):
    summary = compare_report.write(comparison, tmp_path)
    text = (tmp_path / "report.md").read_text()
    assert summary in text
    assert "# `n_plus_one` in every framework" in text
    # Every framework was asked for the same requests.
    assert "4 users (ids, pages and keys drawn from seed 1, the same in every run)" in text
    rows = summary.splitlines()[2:]
    assert [r.split("|")[1].strip() for r in rows] == ["fastapi"] * 6 + ["django"] + ["flask"] * 6
    assert "p50 latency (client) (key)" in rows[0]  # the technique's key figure first
    assert "django is not answering" in summary
    gains = {r.split("|")[1].strip(): r.split("|")[5].strip() for r in rows if "(key)" in r}
    assert float(gains["fastapi"].rstrip("×")) == pytest.approx(4.0, rel=0.1)
    assert float(gains["flask"].rstrip("×")) == pytest.approx(2.0, rel=0.1)
    cpu = next(r for r in rows if r.startswith("| fastapi | service CPU per request"))
    assert "4.100 ms" in cpu and "1.050 ms" in cpu and "3.90×" in cpu
    rss = next(r for r in rows if r.startswith("| flask | service memory"))
    assert "95.8 MiB" in rss and "86.3 MiB" in rss and "1.11×" in rss
    for chart in compare_report.shown(comparison):
        assert (tmp_path / f"{chart}.png").stat().st_size > 1000
        assert f"![{chart}.png]({chart}.png)" in text
    for service in ("fastapi", "flask"):  # each framework's own experiment report
        assert (tmp_path / service / "report.md").exists()
        assert f"[{service}]({service}/report.md)" in text
    assert not (tmp_path / "django").exists()


def test_results_json_holds_every_framework(comparison: compare.Comparison, tmp_path: Path):
    compare_report.write(comparison, tmp_path)
    data = json.loads((tmp_path / "results.json").read_text())
    assert data["technique"] == "n_plus_one" and data["key_figure"] == "p50"
    assert list(data["services"]) == ["fastapi", "django", "flask"]
    assert data["services"]["django"]["skipped"] == "django is not answering"
    flask = data["services"]["flask"]
    assert set(flask["figures"]) >= {"rps", "p50", "p95", "p99"} | set(compare_report.SHOWN)
    assert flask["figures"]["service_rss"]["improvement"] == pytest.approx(100.5 / 90.5)
    first = flask["experiment"]["arms"][0]  # A1: the window's own figures
    assert first["server"]["api_cpu_per_request"] == 0.0040


def test_a_technique_a_service_lacks_is_skipped_with_its_reason(tmp_path: Path):
    base = Config(flag="x", api="http://127.0.0.1:9", prometheus="http://127.0.0.1:9")
    result = compare.run("async_views", {"fastapi": "http://127.0.0.1:9"}, base, tmp_path)
    assert [r.skipped for r in result.runs] == ["fastapi does not implement async_views"]


def test_compare_aims_at_every_lab_service_on_its_lab_port(monkeypatch: pytest.MonkeyPatch):
    for name, port in (("API", "25000"), ("DJANGO", "25001"), ("FLASK", "25002")):
        monkeypatch.setenv(f"PERFLAB_PORTS__{name}", port)
    assert default_targets() == {
        "fastapi": "http://127.0.0.1:25000",
        "django": "http://127.0.0.1:25001",
        "flask": "http://127.0.0.1:25002",
    }
    assert parse_targets("flask=http://127.0.0.1:9/") == {"flask": "http://127.0.0.1:9"}
    with pytest.raises(typer.BadParameter, match="one of fastapi, django, flask"):
        parse_targets("rails=http://127.0.0.1:9")
