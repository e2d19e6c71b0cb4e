"""cpu_offload: the same answer both ways; only the naive path blocks the event loop."""

from __future__ import annotations

import asyncio

import httpx
import psutil
import pytest

from perflab.api.app import create_app
from perflab.api.techniques import cpu_offload
from perflab.settings import Settings
from tests.support.loop_probe import LoopProbe

pytestmark = pytest.mark.integration

PATH = "/compute/fibonacci-check"
CALLS = 3
N = 400_000  # ~80 ms of CPU per call: a wide margin over scheduling noise


def _expected(n: int) -> list[int]:
    found, a, b = [], 1, 2
    found.append(a)
    while b <= n:
        found.append(b)
        a, b = b, a + b
    return found


async def _calls(client: httpx.AsyncClient, probe: LoopProbe, n: int) -> list[httpx.Response]:
    async with probe:
        return await asyncio.gather(*(client.get(PATH, params={"n": n}) for _ in range(CALLS)))


async def test_same_answer_and_only_naive_blocks_the_loop(app_client: httpx.AsyncClient, set_flag):
    await set_flag("cpu_offload", True)
    # Spawning the pool's processes is a one-off cost; keep it out of the comparison.
    warm = await app_client.get(PATH, params={"n": 10})
    assert warm.status_code == 200
    optimised_probe = LoopProbe()
    optimised = await _calls(app_client, optimised_probe, N)
    await set_flag("cpu_offload", False)
    naive_probe = LoopProbe()
    naive = await _calls(app_client, naive_probe, N)

    assert {r.status_code for r in naive + optimised} == {200}
    assert {r.headers["X-Technique-Variant"] for r in naive} == {"naive"}
    assert {r.headers["X-Technique-Variant"] for r in optimised} == {"optimised"}
    bodies = [r.json() for r in naive + optimised]
    assert all(body == bodies[0] for body in bodies)
    assert bodies[0] == {
        "n": N,
        "is_fibonacci": False,
        "checked": N,
        "fibonacci_up_to_n": _expected(N),
    }
    # The loop is blocked for every inline computation, and free while the pool works.
    assert naive_probe.blocked_intervals >= 1
    assert naive_probe.blocked_seconds >= 3 * optimised_probe.blocked_seconds


@pytest.mark.parametrize("enabled", [False, True])
async def test_fibonacci_membership_and_validation(
    app_client: httpx.AsyncClient, set_flag, enabled
):
    await set_flag("cpu_offload", enabled)
    fib = await app_client.get(PATH, params={"n": 317_811})  # F(28)
    assert fib.json()["is_fibonacci"] is True
    assert fib.json()["fibonacci_up_to_n"][-1] == 317_811
    assert (await app_client.get(PATH, params={"n": 317_812})).json()["is_fibonacci"] is False
    default = await app_client.get(PATH)
    assert default.json()["n"] == cpu_offload.DEFAULT_N
    for n in (0, -3, cpu_offload.MAX_N + 1, "ten"):
        assert (await app_client.get(PATH, params={"n": n})).status_code == 422, n


def _pool_children() -> set[int]:
    pids = set()
    for child in psutil.Process().children(recursive=True):
        try:
            if child.status() != psutil.STATUS_ZOMBIE and "spawn_main" in " ".join(child.cmdline()):
                pids.add(child.pid)
        except psutil.Error:
            continue  # exited meanwhile
    return pids


async def test_pool_is_made_lazily_and_shut_down_by_the_lifespan(settings: Settings):
    app = create_app(settings)
    before = _pool_children()
    async with app.router.lifespan_context(app):
        resources = app.state.resources
        assert "cpu_offload_pool" not in resources.extras
        answer = await cpu_offload.optimised(resources, 1000)
        assert answer.fibonacci_up_to_n == _expected(1000)
        spawned = _pool_children() - before
        assert spawned, "the optimised path should run in pool processes"
    assert not (spawned & _pool_children())
