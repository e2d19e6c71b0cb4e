"""fast_json (Django): the API's dump, the same bytes both ways; each call's serialisation
is timed on the request thread's CPU clock as well as the wall clock."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.support.metrics import sample

pytestmark = pytest.mark.integration
LIMIT = 500


def _dump(client: httpx.Client, variant: str) -> bytes:
    answer = client.get("/books/dump", params={"limit": LIMIT}, headers={"Accept-Encoding": ""})
    assert answer.status_code == 200, answer.text
    assert answer.headers["X-Technique-Variant"] == variant
    assert answer.headers["content-type"] == "application/json"
    return answer.content


def _timers(client: httpx.Client, variant: str) -> dict[str, float]:
    labels = {"technique": "fast_json", "variant": variant}
    return {
        name: sample(client, f"perflab_technique_{name}", **labels)
        for name in ("cpu_seconds_count", "cpu_seconds_sum", "duration_seconds_count",
                     "duration_seconds_sum")
    }  # fmt: skip


def test_same_bytes_both_ways_and_as_the_api(django: httpx.Client, set_flag, flags_api: str):
    set_flag("fast_json", False)
    naive = _dump(django, "naive")
    set_flag("fast_json", True)
    optimised = _dump(django, "optimised")
    assert naive == optimised
    api = httpx.get(f"{flags_api}/books/dump", params={"limit": LIMIT}).content
    assert naive == api
    books = json.loads(naive)
    assert len(books) == LIMIT and books[0]["reviews"]["first_at"].startswith("20")


@pytest.mark.parametrize("enabled", [False, True])
def test_each_call_adds_one_cpu_and_one_wall_observation(
    django: httpx.Client, set_flag, enabled: bool
):
    variant = "optimised" if enabled else "naive"
    set_flag("fast_json", enabled)
    before = _timers(django, variant)
    _dump(django, variant)
    after = _timers(django, variant)
    assert after["cpu_seconds_count"] == before["cpu_seconds_count"] + 1
    assert after["duration_seconds_count"] == before["duration_seconds_count"] + 1
    cpu = after["cpu_seconds_sum"] - before["cpu_seconds_sum"]
    wall = after["duration_seconds_sum"] - before["duration_seconds_sum"]
    assert 0 < cpu <= wall


def test_a_bad_limit_is_400(django: httpx.Client):
    for bad in ("0", "20001", "x"):
        answer = django.get("/books/dump", params={"limit": bad})
        assert answer.status_code == 400 and "limit" in answer.json()["error"]
