"""connection_pool (Flask): same book both ways; NullPool opens one connection a request.

The proof by count is `perflab_db_connections_opened_total`, counted by the engines'
`connect` event in this process: N naive requests open exactly N direct connections,
N optimised requests open none at all, pooled or direct.
"""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from prometheus_client import REGISTRY

pytestmark = pytest.mark.integration

N = 5
BOOK_IDS = range(1, N + 1)


def _opened() -> dict[str, float]:
    return {
        kind: REGISTRY.get_sample_value("perflab_db_connections_opened_total", {"kind": kind})
        or 0.0
        for kind in ("direct", "pool")
    }


def _books(client: FlaskClient, variant: str) -> tuple[list[dict], dict[str, float]]:
    before = _opened()
    books = []
    for book_id in BOOK_IDS:
        answer = client.get(f"/books/{book_id}")
        assert answer.status_code == 200, answer.text
        assert answer.headers["X-Technique-Variant"] == variant
        assert answer.headers["X-DB-Queries"] == "1"
        books.append(answer.json)
    after = _opened()
    return books, {kind: after[kind] - before[kind] for kind in after}


async def test_naive_opens_one_connection_per_request_and_the_pool_none(
    flask_client: FlaskClient, flask_flag
):
    await flask_flag("connection_pool", True)
    flask_client.get("/books/1")  # warm-up: the pool opens its first connection
    optimised, opened = _books(flask_client, "optimised")
    assert opened == {"direct": 0, "pool": 0}

    await flask_flag("connection_pool", False)
    naive, opened = _books(flask_client, "naive")
    assert opened == {"direct": N, "pool": 0}

    assert naive == optimised
    assert [b["id"] for b in naive] == list(BOOK_IDS)
    assert all(b["author"]["name"] and b["description"] for b in naive)


@pytest.mark.parametrize("enabled", [False, True])
async def test_missing_book_is_404_and_a_bad_id_422(
    flask_client: FlaskClient, flask_flag, enabled: bool
):
    await flask_flag("connection_pool", enabled)
    missing = flask_client.get("/books/99999999")
    assert missing.status_code == 404
    assert missing.json == {"error": "book 99999999 not found"}
    for bad in ("0", str(2**31)):
        answer = flask_client.get(f"/books/{bad}")
        assert answer.status_code == 422, bad
        assert answer.json["detail"][0]["loc"] == ["path", "book_id"]
    assert flask_client.get("/books/abc").status_code == 404  # no such route
