"""`lab experiment` against a real stack: API (2 workers), Celery, Prometheus, Locust.

Short arms (a few seconds, 2 repeats) for two techniques; checks the report folder,
that results.json holds both arms with every figure, and that the flags are restored
afterwards, also when the run is interrupted.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from perflab.experiment.figures import CLIENT_FIGURES, SERVER_FIGURES
from perflab.lab.prom_config import render_prometheus_config
from tests.support.monitoring import prometheus
from tests.support.servers import REPO, Server, service_env, uvicorn_server

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack(
    lab_root: Path, settings_env: dict[str, str], celery_worker_server: Server
) -> Iterator[tuple[str, str]]:
    with uvicorn_server(lab_root, service_env(settings_env), workers=2) as api:
        port = api.rsplit(":", 1)[1]
        config = render_prometheus_config(
            api_targets=[f"127.0.0.1:{port}"],
            worker_targets=[f"127.0.0.1:{celery_worker_server.port}"],
            alertmanager_targets=[],
            prometheus_target="127.0.0.1:9",
            rule_files=[],
            scrape_interval="1s",
            evaluation_interval="1s",
        )
        with prometheus(lab_root, config) as prom:
            yield api, prom.url


def _flags(api: str) -> dict[str, bool]:
    return {f["name"]: f["enabled"] for f in httpx.get(f"{api}/flags").json()["flags"]}


def _experiment(api: str, prom: str, flag: str, out: Path) -> list[str]:
    return [
        sys.executable, "-m", "perflab.lab.cli", "experiment", flag,
        "--duration", "4", "--warmup", "1", "--repeats", "2", "--users", "3",
        "--api", api, "--prometheus", prom, "--output", str(out),
    ]  # fmt: skip


@pytest.mark.parametrize("flag", ["n_plus_one", "response_cache"])
def test_short_experiment_writes_a_full_report_and_restores_the_flag(
    stack: tuple[str, str], lab_root: Path, flag: str
):
    api, prom = stack
    before = _flags(api)
    out = lab_root / f"experiment-{flag}"
    done = subprocess.run(
        _experiment(api, prom, flag, out), cwd=REPO, capture_output=True, text=True,
        timeout=180, env=dict(os.environ),
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert _flags(api) == before

    for name in ("report.md", "results.json", "latency_distribution.png", "timeline.png"):
        assert (out / name).stat().st_size > 0, name
    results = json.loads((out / "results.json").read_text())
    arms = results["arms"]
    assert [(a["label"], a["flag_enabled"]) for a in arms] == [
        ("A", False), ("B", True), ("A", False), ("B", True),
    ]  # fmt: skip
    assert all(a["requests"] > 0 and a["failures"] == 0 for a in arms)
    expected = {f.name for f in CLIENT_FIGURES} | {f.name for f in SERVER_FIGURES}
    assert set(results["figures"]) == expected
    for arm in arms:
        assert set(arm["server"]) == {f.name for f in SERVER_FIGURES}
    # Figures the technique moves were really measured in both arms.
    for name in ("rps", "p95", "server_rps", "technique_p95"):
        figure = results["figures"][name]
        assert figure["a"] > 0 and figure["b"] > 0, (name, figure)
    if flag == "n_plus_one":
        qpr = results["figures"]["queries_per_request"]
        assert qpr["a"] > 10 * qpr["b"]  # 1+2N statements against 2
    else:
        hits = results["figures"]["cache_hits_per_request"]
        assert hits["b"] > 0.9 and hits["a"] == 0
    assert results["verdict"].startswith(flag)
    assert "Verdict" in (out / "report.md").read_text()


def test_interrupted_experiment_restores_the_flag(stack: tuple[str, str], lab_root: Path):
    api, prom = stack
    before = _flags(api)
    assert before["n_plus_one"] is True
    out = lab_root / "experiment-interrupted"
    proc = subprocess.Popen(
        _experiment(api, prom, "n_plus_one", out), cwd=REPO, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while _flags(api)["n_plus_one"] is True:  # arm A turned it off
        assert proc.poll() is None and time.monotonic() < deadline, proc.stdout.read()
        time.sleep(0.1)
    time.sleep(1.5)  # Locust is running arm A now
    proc.send_signal(signal.SIGINT)
    output, _ = proc.communicate(timeout=60)
    assert proc.returncode != 0, output
    assert "interrupted" in output
    assert _flags(api) == before
