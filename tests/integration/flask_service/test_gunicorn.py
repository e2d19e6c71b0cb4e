"""The Flask service as the lab runs it: gunicorn, 2 workers, multiprocess metrics.

A real gunicorn on the test Postgres and Redis: `/healthz`, `/readyz`, `/techniques`,
`X-DB-Queries` and `X-Technique-Variant` on answers, one `/metrics` for both workers
(route templates in `{param}` style), JSON logs, and `child_exit` dropping the live
gauges of a worker that is gone. About 10 s.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest
from prometheus_client.parser import text_string_to_metric_families

from perflab.catalog import implemented_by
from tests.support.servers import Server, api_metrics_dir, gunicorn_flask_server, service_env

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def gunicorn_flask(lab_root: Path, settings_env: dict[str, str]) -> Iterator[tuple[str, Server]]:
    env = service_env(settings_env, {"PERFLAB_TELEMETRY__LOG_LEVEL": "INFO"})
    with gunicorn_flask_server(lab_root, env, workers=2, threads=2) as server:
        yield server


def _samples(base: str, name: str) -> list:
    text = httpx.get(f"{base}/metrics").text
    return [s for f in text_string_to_metric_families(text) for s in f.samples if s.name == name]


def _workers(server: Server) -> list[int]:
    return [child.pid for child in psutil.Process(server.proc.pid).children()]


def test_probes_and_techniques(gunicorn_flask: tuple[str, Server]):
    base, _ = gunicorn_flask
    assert httpx.get(f"{base}/healthz").json() == {"status": "ok"}
    ready = httpx.get(f"{base}/readyz").json()
    assert ready["status"] == "ready" and set(ready["checks"]) == {"postgres", "redis"}
    techniques = httpx.get(f"{base}/techniques").json()["techniques"]
    assert [t["name"] for t in techniques] == list(implemented_by("flask"))
    assert all("flask" in t["services"] and t["naive"] and t["path"] for t in techniques)
    missing = httpx.get(f"{base}/nope")
    assert missing.status_code == 404 and missing.json() == {"error": "no route GET /nope"}
    assert missing.headers["X-DB-Queries"] == "0"


def test_one_metrics_page_for_every_worker(gunicorn_flask: tuple[str, Server]):
    base, server = gunicorn_flask
    assert len(_workers(server)) == 2
    requests = 40
    with httpx.Client(base_url=base) as client:
        for i in range(requests):
            # A new connection each time, so both workers take their share.
            answer = client.get(f"/books/{i % 5 + 1}", headers={"Connection": "close"})
            assert answer.status_code == 200
            assert answer.headers["X-DB-Queries"] == "1"
            assert answer.headers["X-Technique-Variant"] in ("naive", "optimised")
    counted = [
        s.value
        for s in _samples(base, "perflab_http_requests_total")
        if s.labels.get("route") == "/books/{book_id}"
    ]
    assert sum(counted) == requests
    queries = [
        s.value
        for s in _samples(base, "perflab_db_queries_per_request_sum")
        if s.labels.get("route") == "/books/{book_id}"
    ]
    assert queries == [requests]  # one statement each
    # Both workers sampled their memory (a live gauge per pid).
    pids = {s.labels["pid"] for s in _samples(base, "perflab_process_resident_memory_bytes")}
    assert pids == {str(pid) for pid in _workers(server)}


def test_a_dead_workers_live_gauges_are_dropped_by_child_exit(
    gunicorn_flask: tuple[str, Server], lab_root: Path
):
    base, server = gunicorn_flask
    folder = api_metrics_dir(lab_root, "flask", base)
    victim = _workers(server)[0]
    deadline = time.monotonic() + 10
    while not list(folder.glob(f"gauge_live*_{victim}.db")):
        assert time.monotonic() < deadline, "the worker never wrote its live gauges"
        time.sleep(0.2)
    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while list(folder.glob(f"gauge_live*_{victim}.db")):  # no scrape in between
        assert time.monotonic() < deadline, "child_exit did not mark the worker dead"
        time.sleep(0.1)
    deadline = time.monotonic() + 30
    while len(_workers(server)) < 2 or httpx.get(f"{base}/readyz").status_code != 200:
        assert time.monotonic() < deadline, "gunicorn did not replace the worker"
        time.sleep(0.2)


def test_logs_are_json_lines(gunicorn_flask: tuple[str, Server]):
    _, server = gunicorn_flask
    lines = [line for line in server.log.read_text().splitlines() if line.startswith("{")]
    assert lines, server.log_tail()
    records = [json.loads(line) for line in lines]
    assert any(r["logger"] == "gunicorn.error" for r in records)
    assert all({"time", "level", "message", "trace_id"} <= set(r) for r in records)
