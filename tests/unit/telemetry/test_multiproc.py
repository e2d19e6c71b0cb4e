"""Multiprocess metrics in subprocesses: each starts with its own PROMETHEUS_MULTIPROC_DIR,
as the API and worker processes do (the value class is chosen at import)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from prometheus_client.openmetrics.parser import text_string_to_metric_families


def _run(folder: Path, code: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PERFLAB_")}
    env["PROMETHEUS_MULTIPROC_DIR"] = str(folder)
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    path = tmp_path / "metrics"
    path.mkdir()
    return path


def test_counts_are_exact_across_a_fork_and_survive_the_dead(folder: Path):
    out = _run(
        folder,
        """
        import glob, json, os
        from prometheus_client.multiprocess import MultiProcessCollector
        from perflab.telemetry.metrics import HTTP_REQUESTS
        child = HTTP_REQUESTS.labels(route="/x", method="GET", status_class="2xx")
        for _ in range(5):
            child.inc()
        pid = os.fork()
        if pid == 0:  # the child writes its own file, from 0
            for _ in range(3):
                child.inc()
            os._exit(0)
        os.waitpid(pid, 0)
        child.inc(2)
        files = glob.glob(os.environ["PROMETHEUS_MULTIPROC_DIR"] + "/*.db")
        merged = MultiProcessCollector.merge(files)
        total = sum(s.value for m in merged for s in m.samples
                    if s.name == "perflab_http_requests_total")
        print(json.dumps({"total": total, "child": pid}))
        """,
    )
    result = json.loads(out)
    assert result["total"] == 10  # 5 + 2 here, 3 in the (now dead) child
    assert (folder / f"counter_{result['child']}.db").exists()


def test_render_reaps_dead_live_gauges_and_keeps_exemplars(folder: Path):
    out = _run(
        folder,
        """
        import os, time
        from perflab.telemetry import exemplars, multiproc
        from perflab.telemetry.metrics import HTTP_DURATION, HTTP_IN_PROGRESS, PROCESS_RSS
        pid = os.fork()
        if pid == 0:  # a worker that dies without clean-up (like a SIGKILLed uvicorn worker)
            PROCESS_RSS.set(123)
            HTTP_IN_PROGRESS.labels(route="/x", method="GET").inc()
            HTTP_DURATION.labels(route="/x", method="GET").observe(0.2)
            exemplars.record("/x", "GET", 0.2, "ab" * 16)
            exemplars.flush(multiproc.folder())
            os._exit(0)
        os.waitpid(pid, 0)
        PROCESS_RSS.set(456)
        HTTP_DURATION.labels(route="/x", method="GET").observe(0.003)
        exemplars.record("/x", "GET", 0.003, "cd" * 16)
        body, content_type = multiproc.render("application/openmetrics-text")
        print(pid)
        print(content_type)
        print(body.decode())
        """,
    )
    dead, content_type, text = out.split("\n", 2)
    assert content_type.startswith("application/openmetrics-text")
    families = {f.name: f for f in text_string_to_metric_families(text.rstrip() + "\n")}
    rss_pids = {s.labels["pid"] for s in families["perflab_process_resident_memory_bytes"].samples}
    assert dead not in rss_pids and len(rss_pids) == 1  # the dead worker's live gauge is gone
    # The dead worker's request "in progress" forever is gone with its live gauges.
    assert "perflab_http_requests_in_progress" not in families
    buckets = [
        s for s in families["perflab_http_request_duration_seconds"].samples
        if s.name.endswith("_bucket")
    ]  # fmt: skip
    assert max(s.value for s in buckets) == 2  # the dead worker's observation is kept
    exemplar_ids = {s.labels["le"]: s.exemplar.labels["trace_id"] for s in buckets if s.exemplar}
    # The dead worker's exemplar file went with it; this process's own is live.
    assert exemplar_ids == {"0.005": "cd" * 16}
    assert not list(folder.glob(f"*_{dead}.json"))
    assert not list(folder.glob(f"gauge_live*_{dead}.db"))


def test_worker_metrics_endpoint_drops_a_dead_pool_process_live_gauge(folder: Path):
    out = _run(
        folder,
        """
        import json, os
        from perflab.telemetry.metrics import PROCESS_RSS
        from perflab.worker.metrics_server import registry
        pid = os.fork()
        if pid == 0:  # a pool process that dies without worker_process_shutdown
            PROCESS_RSS.set(123)
            os._exit(0)
        os.waitpid(pid, 0)
        PROCESS_RSS.set(456)
        aggregated = registry()  # built once, as for start_http_server
        values = {s.labels.get("pid"): s.value for m in aggregated.collect() for s in m.samples
                  if s.name == "perflab_process_resident_memory_bytes"}
        print(json.dumps({"values": values, "child": pid, "me": os.getpid()}))
        """,
    )
    result = json.loads(out.strip().splitlines()[-1])
    assert result["values"] == {str(result["me"]): 456.0}
