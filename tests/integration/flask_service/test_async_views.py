"""async_views (Flask): same offer both ways; the gathered calls overlap, counted.

Count: `X-Upstream-Peak`, the most upstream calls this request had in flight at once
(tracked by the calls themselves): 1 when awaited one by one, 3 with `gather`.
Requests are sent from a worker thread, as a WSGI server would call the app: Flask
refuses to run an async view on a thread that already runs an event loop (the test's).
"""

from __future__ import annotations

import asyncio

import pytest
from flask.testing import FlaskClient

pytestmark = pytest.mark.integration


async def _offer(client: FlaskClient, book_id: int, variant: str) -> tuple[dict, int]:
    answer = await asyncio.to_thread(client.get, f"/books/{book_id}/offer")
    assert answer.status_code == 200, answer.text
    assert answer.headers["X-Technique-Variant"] == variant
    assert answer.headers["X-DB-Queries"] == "0"
    return answer.json, int(answer.headers["X-Upstream-Peak"])


async def test_same_offer_with_calls_one_at_a_time_or_all_at_once(
    flask_client: FlaskClient, flask_flag
):
    await flask_flag("async_views", False)
    naive = [await _offer(flask_client, book_id, "naive") for book_id in (1, 2, 7)]
    await flask_flag("async_views", True)
    optimised = [await _offer(flask_client, book_id, "optimised") for book_id in (1, 2, 7)]

    assert [body for body, _ in naive] == [body for body, _ in optimised]
    assert {peak for _, peak in naive} == {1}
    assert {peak for _, peak in optimised} == {3}
    assert naive[0][0]["book_id"] == 1 and set(naive[0][0]) >= {"price_cents", "in_stock"}


def test_a_bad_id_is_422(flask_client: FlaskClient):
    answer = flask_client.get("/books/0/offer")
    assert answer.status_code == 422 and answer.json["detail"][0]["loc"] == ["path", "book_id"]
