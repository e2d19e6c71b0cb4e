"""bounded_cache live: ApiMemoryGrowing fires with the flag off, stays quiet with it on.

The stack: the session's Postgres and Redis, a fresh API (one uvicorn process), and
Prometheus scraping it every second with the lab's rules, every `for:` cut to 3 s (a
rendered copy; the real rules are untouched). Load asks for author reports with a new
(author, since, until) each time: the LRU (flag on) keeps 256 and the process's memory
levels off; the dict memo (flag off) keeps them all, the RSS climbs, and the alert on
its growth rate fires (at the lab's own threshold, 100 MB/h). About 90 s.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from perflab.lab.prom_config import render_prometheus_config, render_rules
from perflab.procs import free_port
from tests.support import monitoring
from tests.support.servers import service_env, uvicorn_server

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(300)]

ALERT = "ApiMemoryGrowing"
FLAG = "bounded_cache"
CLIENTS = 8
# Flag on, before Prometheus looks: the LRU fills and the process's memory levels off
# (measured: +2.5 MB over the first 20 s, then flat within 0.1 MB over 40 s).
WARM_UP = 25.0
QUIET = 30.0  # flag on: the alert must not fire
FIRE_TIMEOUT = 90.0  # flag off: the alert must fire within this
GROWTH = 'max(pid:perflab_process_resident_memory_bytes:deriv15m{job="api"}) * 3600'


@dataclass
class Stack:
    api: str
    # Prometheus is started by the test, after the warm-up, so its window misses it.
    prometheus_home: Path
    prometheus_config: str
    prometheus_port: int


@pytest.fixture(scope="module")
def stack(lab_root: Path, settings_env: dict[str, str]) -> Iterator[Stack]:
    home = lab_root / "memory-alert"
    rules = render_rules(home / "rules", alert_for="3s")
    with uvicorn_server(lab_root, service_env(settings_env), name="api-memory") as api:
        port = free_port()
        config = render_prometheus_config(
            api_targets=[api.removeprefix("http://")],
            worker_targets=[],
            alertmanager_targets=[],
            prometheus_target=f"127.0.0.1:{port}",
            rule_files=rules,
            scrape_interval="1s",
            evaluation_interval="1s",
        )
        yield Stack(api, home, config, port)


def _keys() -> Iterator[tuple[int, int, int]]:
    years = range(1950, 2026)
    for since, until, author in itertools.product(years, years, range(1, 21)):
        yield author, since, until


async def _load(api: str, keys: Iterator[tuple[int, int, int]], seconds: float) -> int:
    done = 0
    deadline = time.monotonic() + seconds

    async def client() -> None:
        nonlocal done
        async with httpx.AsyncClient(base_url=api, timeout=30) as http:
            while time.monotonic() < deadline:
                author, since, until = next(keys)
                answer = await http.get(
                    f"/authors/{author}/report", params={"since": since, "until": until}
                )
                assert answer.status_code == 200, answer.text
                done += 1

    await asyncio.gather(*(client() for _ in range(CLIENTS)))
    return done


async def _scrape(api: str, seconds: float) -> None:
    """Read /metrics as Prometheus will, so its first scrapes allocate nothing new."""
    deadline = time.monotonic() + seconds
    headers = {"Accept": "application/openmetrics-text; version=1.0.0"}
    async with httpx.AsyncClient(base_url=api, timeout=30, headers=headers) as http:
        while time.monotonic() < deadline:
            assert (await http.get("/metrics")).status_code == 200
            await asyncio.sleep(0.5)


def _alerts(prom: monitoring.Monitor, *states: str) -> set[str]:
    alerts = prom.get("/api/v1/alerts")["data"]["alerts"]
    return {a["labels"]["alertname"] for a in alerts if a["state"] in states}


def _growth(prom: monitoring.Monitor) -> float | None:
    found = prom.get("/api/v1/query", query=GROWTH)["data"]["result"]
    return float(found[0]["value"][1]) if found else None


def _flag(api: str, enabled: bool) -> None:
    answer = httpx.put(f"{api}/flags/{FLAG}", json={"enabled": enabled}, timeout=10)
    assert answer.status_code == 200, answer.text
    time.sleep(1.5)  # every process has it


async def test_the_memory_alert_fires_with_an_unbounded_memo_and_not_with_the_lru(
    stack: Stack,
) -> None:
    keys = _keys()
    _flag(stack.api, True)
    try:
        await asyncio.gather(_load(stack.api, keys, WARM_UP), _scrape(stack.api, WARM_UP))
        with monitoring.prometheus(
            stack.prometheus_home, stack.prometheus_config, port=stack.prometheus_port
        ) as prom:
            quiet_growth = []
            for _ in range(int(QUIET / 5)):
                await _load(stack.api, keys, 5)
                quiet_growth.append(_growth(prom))
                # Not even pending: the growth rate stays under the threshold throughout.
                assert ALERT not in _alerts(prom, "pending", "firing"), (
                    f"{ALERT} with the LRU; growth (B/h) {quiet_growth}"
                )
            _flag(stack.api, False)
            naive_growth = []
            deadline = time.monotonic() + FIRE_TIMEOUT
            while ALERT not in _alerts(prom, "firing"):
                assert time.monotonic() < deadline, (
                    f"no {ALERT} with the dict memo; growth (B/h) quiet {quiet_growth}, "
                    f"naive {naive_growth}"
                )
                await _load(stack.api, keys, 3)
                naive_growth.append(_growth(prom))
            print(f"growth B/h: quiet {quiet_growth}, naive {naive_growth}")  # noqa: T201
            held = prom.get("/api/v1/query", query='sum(perflab_memo_entries{variant="naive"})')
            assert float(held["data"]["result"][0]["value"][1]) > 256  # more than the LRU keeps
    finally:
        _flag(stack.api, True)
