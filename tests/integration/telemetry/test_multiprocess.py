"""`/metrics` of a real uvicorn with 2 worker processes (prometheus_client multiprocess).

Counts are exact: every request counted once whichever worker served it, and a
killed worker's counts survive it while its live gauges disappear. Exemplars
survive the multiprocess merge, and promtool finds nothing to lint.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as parse_openmetrics,
)
from prometheus_client.parser import text_string_to_metric_families

from perflab.procs import wait_until
from tests.support.servers import api_metrics_dir, service_env, uvicorn_server

pytestmark = pytest.mark.integration

OPENMETRICS = "application/openmetrics-text; version=1.0.0"
COUNTED_ROUTE = "/books"
EXEMPLAR_ROUTE = "/techniques"
SLOW_ROUTE = "/upstream/quote"  # async_io, flag on: awaits the simulated upstream
UPSTREAM_LATENCY = 1.0


@pytest.fixture(scope="module")
def api(lab_root: Path, settings_env: dict[str, str]) -> Iterator[str]:
    env = service_env(
        settings_env, {"PERFLAB_TECHNIQUES__UPSTREAM_LATENCY_SECONDS": str(UPSTREAM_LATENCY)}
    )
    with uvicorn_server(lab_root, env, workers=2, name="telemetry") as base:
        yield base


def _scrape(base: str) -> dict[str, list]:
    text = httpx.get(f"{base}/metrics", timeout=10).text
    return {f.name: f.samples for f in text_string_to_metric_families(text)}


def _requests_total(base: str, route: str) -> float:
    samples = _scrape(base)["perflab_http_requests"]
    return sum(
        s.value
        for s in samples
        if s.name.endswith("_total") and s.labels["route"] == route and s.labels["method"] == "GET"
    )


def _rss_pids(base: str) -> set[str]:
    return {s.labels["pid"] for s in _scrape(base)["perflab_process_resident_memory_bytes"]}


def _per_process_counts(folder: Path, route: str) -> dict[int, float]:
    """The counter as each process's own file holds it (before the merge)."""
    counts: dict[int, float] = {}
    for path in folder.glob("counter_*.db"):
        pid = int(path.stem.split("_")[1])
        for metric in MultiProcessCollector.merge([str(path)]):
            for s in metric.samples:
                if s.name == "perflab_http_requests_total" and s.labels["route"] == route:
                    counts[pid] = counts.get(pid, 0) + s.value
    return counts


async def _send(base: str, n: int, path: str, headers_for=None) -> None:  # noqa: ANN001
    # No keep-alive: each request is a new connection the kernel hands to either worker.
    limits = httpx.Limits(max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
        gate = asyncio.Semaphore(8)

        async def one(i: int) -> None:
            async with gate:
                headers = headers_for(i) if headers_for else None
                answer = await client.get(path, headers=headers)
                assert answer.status_code == 200, answer.text

        await asyncio.gather(*(one(i) for i in range(n)))


def test_request_counter_is_exact_across_workers_and_survives_a_killed_one(
    api: str, lab_root: Path
):
    folder = api_metrics_dir(lab_root, "telemetry", api)
    asyncio.run(_send(api, 200, f"{COUNTED_ROUTE}?limit=1"))
    # Each worker writes its file at every update; the scrape merges them.
    assert wait_until(lambda: _requests_total(api, COUNTED_ROUTE) >= 200, timeout=10)
    assert _requests_total(api, COUNTED_ROUTE) == 200
    pids = _rss_pids(api)
    assert len(pids) == 2
    per_process = _per_process_counts(folder, COUNTED_ROUTE)
    assert sum(per_process.values()) == 200
    assert {str(pid) for pid, n in per_process.items() if n > 0} == pids, per_process

    # Kill the worker that served the most (we started it); uvicorn starts another.
    victim = max(per_process, key=lambda pid: per_process[pid])
    os.kill(victim, signal.SIGKILL)
    restarted = wait_until(
        lambda: (live := _rss_pids(api)) and len(live) == 2 and str(victim) not in live,
        timeout=60,
        interval=0.3,
    )
    assert restarted, _rss_pids(api)
    assert not list(folder.glob(f"gauge_live*_{victim}.db")), "stale live gauges remain"

    asyncio.run(_send(api, 50, f"{COUNTED_ROUTE}?limit=1"))
    assert wait_until(lambda: _requests_total(api, COUNTED_ROUTE) >= 250, timeout=10)
    assert _requests_total(api, COUNTED_ROUTE) == 250
    assert _per_process_counts(folder, COUNTED_ROUTE)[victim] == per_process[victim]


def test_latency_exemplars_carry_the_trace_ids_of_sampled_requests(api: str):
    sent = [secrets.token_hex(16) for _ in range(20)]

    def traceparent(i: int) -> dict[str, str]:
        # Sampled parent (flags 01): ParentBased keeps the request in this trace.
        return {"traceparent": f"00-{sent[i]}-{secrets.token_hex(8)}-01"}

    asyncio.run(_send(api, len(sent), EXEMPLAR_ROUTE, traceparent))

    def exemplar_ids() -> list[str]:
        answer = httpx.get(f"{api}/metrics", headers={"Accept": OPENMETRICS}, timeout=10)
        assert answer.headers["content-type"].startswith("application/openmetrics-text")
        ids = []
        for family in parse_openmetrics(answer.text):
            for s in family.samples:
                if s.exemplar is not None and s.labels.get("route") == EXEMPLAR_ROUTE:
                    assert family.name == "perflab_http_request_duration_seconds"
                    assert s.name.endswith("_bucket")
                    assert s.exemplar.value <= float(s.labels["le"])
                    ids.append(s.exemplar.labels["trace_id"])
        return ids

    # Exemplars reach the merge on the workers' next sampler tick (1 s); until then a
    # scrape shows them only when the worker that recorded them serves it, so the
    # assertion is on the read that found them, not on a second scrape.
    found: list[str] = []

    def seen() -> bool:
        found[:] = exemplar_ids()
        return bool(found)

    assert wait_until(seen, timeout=15)
    assert set(found) <= set(sent), (found, sent)


def _in_progress(text: str, route: str) -> float:
    families = {f.name: f.samples for f in text_string_to_metric_families(text)}
    return sum(
        s.value for s in families["perflab_http_requests_in_progress"] if s.labels["route"] == route
    )


def test_in_progress_shows_the_requests_in_flight_over_both_workers(api: str):
    in_flight = 6

    async def scenario() -> tuple[float, list[httpx.Response]]:
        async with httpx.AsyncClient(base_url=api, timeout=10) as client:
            calls = [
                asyncio.create_task(client.get(SLOW_ROUTE, params={"book_id": 1, "quantity": 1}))
                for _ in range(in_flight)
            ]
            await asyncio.sleep(UPSTREAM_LATENCY / 2)
            during = _in_progress((await client.get("/metrics")).text, SLOW_ROUTE)
            return during, await asyncio.gather(*calls)

    during, responses = asyncio.run(scenario())
    assert {r.status_code for r in responses} == {200}
    assert during == in_flight
    # Each worker's flusher writes its gauge within a tick of the last request ending.
    assert wait_until(
        lambda: _in_progress(httpx.get(f"{api}/metrics", timeout=10).text, SLOW_ROUTE) == 0,
        timeout=5,
    )


def test_promtool_finds_no_problem_and_every_api_family_has_data(api: str):
    asyncio.run(_send(api, 5, f"{COUNTED_ROUTE}?limit=2"))
    text = httpx.get(f"{api}/metrics", timeout=10).text
    promtool = shutil.which("promtool") or "/usr/bin/promtool"
    checked = subprocess.run(
        [promtool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=30
    )
    assert checked.returncode == 0 and not checked.stdout.strip(), checked.stdout + checked.stderr
    with_data = {family.name for family in text_string_to_metric_families(text) if family.samples}
    for name in (
        "perflab_http_requests",
        "perflab_http_request_duration_seconds",
        "perflab_http_requests_in_progress",
        "perflab_http_response_size_bytes",
        "perflab_db_queries_per_request",
        "perflab_db_query_duration_seconds",
        "perflab_db_pool_connections",
        "perflab_db_pool_acquire_seconds",
        "perflab_db_connections_opened",
        "perflab_flag_enabled",
        "perflab_technique_duration_seconds",
        "perflab_celery_queue_length",
        "perflab_celery_queue_oldest_message_age_seconds",
        "perflab_event_loop_lag_seconds",
        "perflab_process_resident_memory_bytes",
        "perflab_process_cpu_seconds",
        "perflab_process_open_fds",
        "perflab_process_gc_collections",
    ):
        assert name in with_data, name
    assert not re.search(r'route="/books\?', text), "raw URLs must never be labels"
