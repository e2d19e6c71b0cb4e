"""`lab bench`, `lab bench --overhead` and `lab bench --servers` end to end, at their
shortest: each starts its own seeded Postgres, Redis, OTLP sink and server processes
(uvicorn, gunicorn, granian, Werkzeug) and drives them with wrk (any failed request fails
the bench). About 2.5 min for the three."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from perflab.bench import lab, overhead, servers
from perflab.console.reports import render
from tests.support.servers import REPO

pytestmark = pytest.mark.e2e


def _bench(*options: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-m", "perflab.lab.cli", "bench", "--duration", "1", "--rounds", "1",
         "--json", *options],
        cwd=REPO, capture_output=True, text=True, timeout=300, env=dict(os.environ),
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout)


def _machine_measured(report: dict) -> None:
    speed = report["machine"]
    assert speed["probe_before_ms"] > 0 and speed["probe_after_ms"] > 0
    assert 0 <= speed["steal_share"] < 1


def test_lab_bench_measures_every_path_against_the_framework_ceiling() -> None:
    report = _bench()
    reads = {f"{kind}, telemetry {t}" for kind in ("cached read", "DB read") for t in lab.TELEMETRY}
    assert set(report["cases"]) == {lab.BARE_ASGI, lab.BARE_FASTAPI} | reads
    for case, figures in report["cases"].items():
        assert figures["rps"] > 0 and figures["cpu_ms_per_request"] > 0, case
    shares = report["shares"]
    assert shares[lab.BARE_FASTAPI] == {"rps": 1.0, "cpu": 1.0}
    # The lab's reads do more than the bare endpoint's constant answer, on the same core.
    assert all(shares[case]["cpu"] < 1 for case in reads)
    assert report["flags_on"] == sorted(lab.FLAGS_ON)
    _machine_measured(report)


def test_lab_bench_overhead_measures_each_telemetry_setting_and_exports_spans() -> None:
    report = _bench("--overhead", "--processes", "1")
    assert list(report["configs"]) == list(overhead.configs(report["default_ratio"]))
    for name, figures in report["configs"].items():
        assert figures["rps"] > 0 and figures["cpu_ms_per_request"] > 0, name
        assert figures["throughput_ratio"] > 0
    assert report["configs"]["off"]["throughput_ratio"] == 1.0
    # Tracing every request reached the OTLP endpoint through the official exporter.
    assert report["otlp_sink"]["requests"] > 0 and report["otlp_sink"]["bytes"] > 0
    _machine_measured(report)


def test_lab_bench_servers_runs_every_framework_under_each_server(tmp_path: Path) -> None:
    out = tmp_path / "servers"
    _bench("--servers", "--output", str(out))
    report = json.loads((out / "results.json").read_text())
    assert set(report["cases"]) | set(report["skipped"]) == {c.name for c in servers.configs()}
    assert not report["skipped"], report["skipped"]  # every server is installed from the lock
    for name, figures in report["cases"].items():
        assert figures["rps"] > 0 and figures["cpu_ms_per_request"] > 0, name
        assert figures["socket_errors"] == 0 and figures["rss_mb"] > 0, name
    page = render(tmp_path, "servers")
    assert page is not None and page["kind"] == "bench"
    assert 'src="/results/servers/throughput.png"' in page["html"]
