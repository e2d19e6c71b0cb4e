"""The console's reads: the flips its charts mark are read once per refresh, not per chart."""

from __future__ import annotations

import httpx

from perflab.console import sources
from perflab.console.config import ConsoleOptions, ConsoleSettings, ServiceRef

FLIP = {
    "flag": "gzip",
    "old": True,
    "new": False,
    "actor": "admin",
    "at": "2026-12-07T13:00:00+00:00",
}


def _sources(handler: httpx.MockTransport) -> sources.Sources:
    options = ConsoleOptions(services=[ServiceRef(name="fastapi", url="http://api")])
    return sources.Sources(ConsoleSettings(console=options), httpx.AsyncClient(transport=handler))


async def test_every_chart_of_a_refresh_shares_one_read_of_the_flips(monkeypatch) -> None:
    reads = []

    def answer(request: httpx.Request) -> httpx.Response:
        reads.append(request.url.params["limit"])
        return httpx.Response(200, json=[FLIP])

    console = _sources(httpx.MockTransport(answer))
    monkeypatch.setattr(sources, "FLIP_MARKS_TTL_SECONDS", 60.0)
    for _ in range(3):  # within the TTL: one read
        assert await console.flip_marks() == [FLIP]
    assert reads == [str(sources.FLIP_MARKS)]
    monkeypatch.setattr(sources, "FLIP_MARKS_TTL_SECONDS", 0.0)
    await console.flip_marks()  # past it: read again
    assert len(reads) == 2


async def test_no_flips_when_the_flags_service_does_not_answer() -> None:
    console = _sources(httpx.MockTransport(lambda _: httpx.Response(503)))
    assert await console.flip_marks() == []
