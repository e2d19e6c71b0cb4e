"""persistent_connections (Django): the same book both ways; a new Postgres connection
per request naive (kind="direct"), at most one per worker thread kept optimised."""

from __future__ import annotations

import httpx
import pytest

from tests.support.metrics import sample

pytestmark = pytest.mark.integration
OPENED = "perflab_db_connections_opened_total"
REQUESTS = 12
THREADS = 4  # of the test's gunicorn worker


def _book(client: httpx.Client, variant: str) -> dict:
    answer = client.get("/books/7")
    assert answer.status_code == 200, answer.text
    assert answer.headers["X-Technique-Variant"] == variant
    return answer.json()


def _opened(client: httpx.Client) -> dict[str, float]:
    return {kind: sample(client, OPENED, kind=kind) for kind in ("direct", "persistent")}


def test_one_connection_per_request_naive_kept_across_requests_optimised(django, set_flag):
    set_flag("persistent_connections", False)
    before = _opened(django)
    naive = [_book(django, "naive") for _ in range(REQUESTS)]
    middle = _opened(django)
    set_flag("persistent_connections", True)
    optimised = [_book(django, "optimised") for _ in range(REQUESTS)]
    after = _opened(django)

    assert all(book == naive[0] for book in naive + optimised)
    assert naive[0]["id"] == 7 and naive[0]["author"]["name"]
    assert middle["direct"] - before["direct"] == REQUESTS
    assert middle["persistent"] == before["persistent"]
    assert after["direct"] == middle["direct"]
    assert after["persistent"] - middle["persistent"] <= THREADS


def test_an_unknown_book_is_404(django: httpx.Client):
    answer = django.get("/books/99999999")
    assert answer.status_code == 404 and "book 99999999" in answer.json()["error"]
