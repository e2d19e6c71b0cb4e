"""Async views: upstream calls awaited one after another vs together.

Demonstrates: `GET /books/{book_id}/offer`, a book's offer assembled from three slow
upstream services (price, stock, delivery estimate), each simulated by an
`asyncio.sleep` of `techniques.upstream_latency_seconds` (as the async_io technique
does). The view is `async def` (Flask's `flask[async]` extra): Flask runs it to the
end in an event loop of its own, inside the worker thread that took the request. The
naive path awaits the three calls one by one (3 x latency); the optimised path awaits
them together with `asyncio.gather` (1 x latency).
What it does not buy under WSGI: the worker thread is held for the whole request
either way, so one sync worker still serves one request at a time; the loop only
overlaps the awaits of this one request. Concurrency across requests still comes from
gunicorn's workers and threads (or an ASGI server: the FastAPI service).
Watch: `perflab_upstream_calls_in_progress` (calls in flight) and the route's p95.
Expect 3 calls in flight per request instead of 1 (`X-Upstream-Peak`, the most this
request had in flight at once) and a latency one upstream call long instead of three.
"""

from __future__ import annotations

import asyncio
from typing import Any

from flask import Blueprint, after_this_request, jsonify
from flask.typing import ResponseReturnValue
from flask.wrappers import Response

from perflab.catalog import TECHNIQUES
from perflab.flask_service import validation
from perflab.flask_service.resources import resources
from perflab.flask_service.techniques.base import Technique, run_async
from perflab.technique_metrics import UPSTREAM_IN_PROGRESS

NAME = "async_views"
PEAK_HEADER = "X-Upstream-Peak"


class _InFlight:
    """Upstream calls of this request in flight now, and the most at once."""

    def __init__(self) -> None:
        self.now = 0
        self.peak = 0


async def _upstream(what: str, book_id: int, answer: int, flight: _InFlight) -> tuple[str, int]:
    """One slow upstream call (simulated: sleeps, then answers `answer`)."""
    flight.now += 1
    flight.peak = max(flight.peak, flight.now)
    UPSTREAM_IN_PROGRESS.inc()
    try:
        await asyncio.sleep(resources().settings.techniques.upstream_latency_seconds)
    finally:
        UPSTREAM_IN_PROGRESS.dec()
        flight.now -= 1
    return what, answer + book_id % 7


def _calls(book_id: int, flight: _InFlight) -> list[Any]:
    # Coroutine objects, not started yet: the variant decides how they are awaited.
    return [
        _upstream("price_cents", book_id, 1_000 + 37 * book_id, flight),
        _upstream("stock", book_id, book_id % 5, flight),
        _upstream("delivery_days", book_id, 1 + book_id % 4, flight),
    ]


def _offer(book_id: int, parts: list[tuple[str, int]]) -> dict[str, Any]:
    values = dict(parts)
    return {
        "book_id": book_id,
        "price_cents": values["price_cents"],
        "in_stock": values["stock"] > 0,
        "stock": values["stock"],
        "delivery_days": values["delivery_days"],
    }


async def naive(book_id: int, flight: _InFlight) -> dict[str, Any]:
    parts = [await call for call in _calls(book_id, flight)]
    return _offer(book_id, parts)


async def optimised(book_id: int, flight: _InFlight) -> dict[str, Any]:
    parts = await asyncio.gather(*_calls(book_id, flight))
    return _offer(book_id, list(parts))


blueprint = Blueprint(NAME, __name__)


@blueprint.get("/books/<int:book_id>/offer")
async def book_offer(book_id: int) -> ResponseReturnValue:
    validation.path_id("book_id", book_id)
    flight = _InFlight()

    @after_this_request
    def peak(response: Response) -> Response:
        response.headers[PEAK_HEADER] = str(flight.peak)
        return response

    return jsonify(await run_async(NAME, naive, optimised, book_id, flight))


TECHNIQUE = Technique(spec=TECHNIQUES[NAME], blueprint=blueprint)
