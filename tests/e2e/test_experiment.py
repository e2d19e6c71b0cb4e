"""`lab experiment` against a real stack: API (2 workers), Celery, Prometheus, Locust.

The acceptance run (n_plus_one, one pair of 8 s arms: every server figure of its route
filled in both arms, exactly), short repeated arms of a cached read, and flags
restored afterwards, also when the run is interrupted. About 1.5 min in all.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from perflab.catalog import TECHNIQUES
from perflab.console.reports import render
from perflab.experiment.figures import SAMPLED_FIGURES
from perflab.experiment.pinning import api_pids
from perflab.experiment.server_figures import SERVER_FIGURES
from perflab.lab.prom_config import render_prometheus_config
from perflab.procs import free_port
from tests.support.metrics import sample
from tests.support.monitoring import prometheus
from tests.support.servers import REPO, Server, service_env, uvicorn_server

pytestmark = pytest.mark.e2e
FIGURES = {f.name for f in (*SERVER_FIGURES, *SAMPLED_FIGURES)}


@dataclass(frozen=True)
class Stack:
    api: str
    prometheus: str
    worker_metrics: str


@pytest.fixture(scope="module")
def stack(
    lab_root: Path, settings_env: dict[str, str], celery_worker_server: Server
) -> Iterator[Stack]:
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
            worker = f"http://127.0.0.1:{celery_worker_server.port}/metrics"
            yield Stack(api, prom.url, worker)


def _flags(api: str) -> dict[str, bool]:
    return {f["name"]: f["enabled"] for f in httpx.get(f"{api}/flags").json()["flags"]}


def _experiment(stack: Stack, flag: str, out: Path, *options: str) -> list[str]:
    return [
        sys.executable, "-m", "perflab.lab.cli", "experiment", flag, "--users", "3",
        "--api", stack.api, "--prometheus", stack.prometheus,
        "--worker-metrics", stack.worker_metrics, "--output", str(out), *options,
    ]  # fmt: skip


def _run(stack: Stack, flag: str, out: Path, *options: str) -> dict:
    before = _flags(stack.api)
    done = subprocess.run(
        _experiment(stack, flag, out, *options), cwd=REPO, capture_output=True, text=True,
        timeout=180, env=dict(os.environ),
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert _flags(stack.api) == before
    for name in ("report.md", "results.json", "latency_distribution.png", "timeline.png"):
        assert (out / name).stat().st_size > 0, name
    return json.loads((out / "results.json").read_text())


def test_an_eight_second_arm_has_exact_server_figures_in_both_arms(stack: Stack, lab_root: Path):
    """The acceptance run: `lab experiment n_plus_one --duration 8 --repeats 1` (~35 s)."""
    affinity = {pid: os.sched_getaffinity(pid) for pid in api_pids(stack.api)}
    out = lab_root / "experiment-n_plus_one"
    results = _run(stack, "n_plus_one", out, "--duration", "8", "--repeats", "1")
    arms = results["arms"]
    assert [(a["label"], a["flag_enabled"]) for a in arms] == [("A", False), ("B", True)]
    for arm in arms:
        assert arm["requests"] > 0 and arm["failures"] == 0 and arm["stray"] == 0
        assert arm["ended"] - arm["measured_from"] >= 8
        assert set(arm["server"]) == FIGURES
        assert arm["server"]["server_p95"] > 0, arm
        assert arm["server"]["server_rps"] > 0, arm
    a, b = (arm["server"]["queries_per_request"] for arm in arms)
    assert a == 1 + 2 * 50 and b == 2  # the route's default page of 50 books
    # Read from the kernel's count of each of the API's Postgres connections: 101 small
    # answers carry more protocol than 2 (rows, descriptions, completions, ready).
    naive_bytes, optimised_bytes = (arm["server"]["db_bytes_per_request"] for arm in arms)
    assert naive_bytes > optimised_bytes > 0
    qpr = results["figures"]["queries_per_request"]
    assert qpr["a"] == a and qpr["b"] == b and qpr["improvement"] == pytest.approx(50.5)
    # Untouched by this traffic, and saying so; nothing else is without a value.
    assert arms[0]["server"]["export_buffer_peak"] is None
    assert "export" in arms[0]["why"]["export_buffer_peak"]
    # 8 s windows are two Prometheus scrape intervals (1 s here) more than enough.
    assert all(arm["server"]["loop_lag_max"] is not None for arm in arms)
    assert results["verdict"].startswith("n_plus_one on: p50 latency (client) improvement")
    assert results["promise_state"] in ("met", "likely", "missed")
    assert f"promised ≥ 2.5×: {results['promise_state']}" in results["verdict"]
    report = (out / "report.md").read_text()
    assert "| SQL statements per request | server | 101.00 | 2.00 |" in report
    assert "**likely**" in report  # the three verdict states are defined in the report
    # The load's ids and pages come from the default seed, said in the report.
    assert results["config"]["seed"] == 1
    assert "drawn from seed 1, the same in every run" in report
    # Pinned for the run (two cores here), and put back after it.
    assert any(n.startswith("pinned: API processes") for n in results["notes"])
    assert {pid: os.sched_getaffinity(pid) for pid in affinity} == affinity
    # The machine's speed around the arms, for comparing this run with another.
    speed = results["machine"]
    assert speed["probe_before_ms"] > 0 and speed["probe_after_ms"] > 0
    assert 0 <= speed["steal_share"] < 1
    assert f"- Machine speed: a fixed CPU probe took {speed['probe_before_ms']:.2f} ms" in report
    # The console's Reports page shows it as an experiment, charts inline.
    page = render(lab_root, out.name)
    assert page is not None and page["kind"] == "experiment", page and page["kind"]
    assert "n_plus_one" in page["title"]
    for chart in ("latency_distribution.png", "timeline.png"):
        assert f'src="/results/{out.name}/{chart}"' in page["html"], chart


def test_short_repeated_arms_of_a_cached_read(stack: Stack, lab_root: Path):
    """response_cache, 2 pairs of 3 s arms (~30 s): hits, 0 SQL per hit, every pair."""
    out = lab_root / "experiment-response_cache"
    # An earlier run to hold this one against: the cache "bought" nothing there.
    earlier = lab_root / "earlier-response_cache.json"
    earlier.write_text(json.dumps({
        "config": {"flag": "response_cache", "users": 3, "duration_seconds": 20},
        "key_figure": "rps", "figures": {"rps": {"label": "requests/s", "improvement": 1.0}},
    }))  # fmt: skip
    results = _run(
        stack, "response_cache", out, "--duration", "3", "--warmup", "1", "--repeats", "2",
        "--against", str(earlier),
    )  # fmt: skip
    arms = results["arms"]
    assert [a["label"] for a in arms] == ["A", "B", "A", "B"]
    hits = results["figures"]["cache_hits_per_request"]
    assert hits["b"] > 0.9 and hits["a"] == 0
    assert [arm["server"]["queries_per_request"] for arm in arms[1::2]] == [0, 0]
    rps = results["figures"]["rps"]
    assert len(rps["pairs"]) == 2 and all(p > 1 for p in rps["pairs"])
    assert rps["spread"] is not None
    against = (out / "report.md").read_text().split(f"## Against {earlier}")[1]
    apart = rps["improvement"] - 1
    assert (
        f"| `response_cache` | requests/s (client) | {rps['improvement']:.2f}× | 1.00× "
        f"| {apart:.1%} **>10%** |"
    ) in against
    assert "0 of 1 headline improvements within 10%" in against
    assert "duration_seconds: 3.0 now, 20 earlier" in against
    # The earlier report has no CPU probe: the column says so rather than guessing.
    assert f"| {apart:.1%} **>10%** | – |" in against
    assert "CPU probe –: a run without one" in against


def test_without_prometheus_the_sampled_figures_say_so_and_the_rest_are_measured(
    stack: Stack, lab_root: Path
):
    """One 3 s pair (~15 s) with Prometheus not answering: only RSS peak and loop lag,
    the figures Prometheus samples, are missing, and each says why."""
    nowhere = f"http://127.0.0.1:{free_port()}"
    out = lab_root / "experiment-no-prometheus"
    results = _run(
        stack, "response_cache", out, "--duration", "3", "--warmup", "1", "--repeats", "1",
        "--prometheus", nowhere,  # the last --prometheus wins
    )  # fmt: skip
    assert (
        f"Prometheus at {nowhere} is not ready: RSS peak and event-loop lag are left out"
        in (results["notes"])
    )
    for arm in results["arms"]:
        assert arm["server"]["api_rss_peak"] is None and arm["server"]["loop_lag_max"] is None
        assert arm["why"]["loop_lag_max"] == f"Prometheus at {nowhere} was not ready"
        assert arm["server"]["queries_per_request"] is not None  # scraped directly
    assert results["figures"]["rps"]["improvement"] > 1


def test_a_technique_measured_under_a_fault_sets_it_for_the_run_and_puts_it_back(
    stack: Stack, lab_root: Path
):
    """resilience, one pair of 3 s arms (~20 s) under its catalog's upstream spikes."""
    api = stack.api
    client = httpx.Client(base_url=api)
    timed_out = {"variant": "optimised", "outcome": "timeout"}
    before = client.get("/upstream/fault").json()
    timeouts = sample(client, "perflab_upstream_calls_total", **timed_out)
    retries = sample(client, "perflab_upstream_retries_total")
    out = lab_root / "experiment-resilience"
    results = _run(stack, "resilience", out, "--duration", "3", "--repeats", "1")
    fault = TECHNIQUES["resilience"].experiment_fault
    assert fault and fault["spike_rate"] > 0
    assert any(n.startswith(f"measured under an upstream fault, {json.dumps(fault)}")
               for n in results["notes"])  # fmt: skip
    assert client.get("/upstream/fault").json() == before
    # The spikes were there: the optimised arm gave up on slow attempts and retried
    # (with a healthy upstream neither happens).
    assert sample(client, "perflab_upstream_calls_total", **timed_out) > timeouts
    assert sample(client, "perflab_upstream_retries_total") > retries
    assert results["key_figure"] == "p95"
    assert results["config"]["think_seconds"] is None  # the technique's own short pace
    assert "0.1 s think time per user" in (out / "report.md").read_text()


def test_interrupted_experiment_restores_the_flag(stack: Stack, lab_root: Path):
    api = stack.api
    before = _flags(api)
    assert before["n_plus_one"] is True
    out = lab_root / "experiment-interrupted"
    proc = subprocess.Popen(
        _experiment(stack, "n_plus_one", out, "--duration", "4", "--repeats", "2"),
        cwd=REPO, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while _flags(api)["n_plus_one"] is True:  # arm A turned it off
        assert proc.poll() is None and time.monotonic() < deadline, proc.stdout.read()
        time.sleep(0.1)
    time.sleep(4)  # Locust is running arm A now
    proc.send_signal(signal.SIGINT)
    output, _ = proc.communicate(timeout=60)
    assert proc.returncode != 0, output
    assert "interrupted" in output
    assert _flags(api) == before
