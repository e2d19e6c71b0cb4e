"""n_plus_one (Flask): same books both ways; lazy loads 1 + N + authors, eager loads 2."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

pytestmark = pytest.mark.integration


def _books(client: FlaskClient, limit: int, variant: str) -> tuple[list, int]:
    answer = client.get("/books", query_string={"limit": limit})
    assert answer.status_code == 200, answer.text
    assert answer.headers["X-Technique-Variant"] == variant
    assert len(answer.json) == limit
    return answer.json, int(answer.headers["X-DB-Queries"])


async def test_same_books_lazy_loaded_one_by_one_or_eagerly_in_two_statements(
    flask_client: FlaskClient, flask_flag
):
    await flask_flag("n_plus_one", True)
    optimised = {n: _books(flask_client, n, "optimised") for n in (5, 20)}
    await flask_flag("n_plus_one", False)
    naive = {n: _books(flask_client, n, "naive") for n in (5, 20)}

    for n in (5, 20):
        books, queries = naive[n]
        assert books == optimised[n][0]
        # The page, one lazy load of reviews per book, one per author not seen yet
        # (the session's identity map serves an author already loaded).
        authors = len({book["author"]["id"] for book in books})
        assert queries == 1 + n + authors
        assert optimised[n][1] == 2  # JOIN for the authors + one IN for the reviews
    assert any(book["review_count"] > 0 for book in naive[20][0])


def test_limit_is_validated(flask_client: FlaskClient):
    for bad in (0, 201, "x"):
        answer = flask_client.get("/books", query_string={"limit": bad})
        assert answer.status_code == 422
        assert answer.json["detail"][0]["loc"] == ["query", "limit"]
