"""n_plus_one (Django): same books both ways; 1 + 2N statements naive, 1 optimised."""

from __future__ import annotations

import httpx
import pytest

pytestmark = pytest.mark.integration


def _books(client: httpx.Client, limit: int, variant: str) -> tuple[list, int]:
    answer = client.get("/books", params={"limit": limit})
    assert answer.status_code == 200, answer.text
    assert answer.headers["X-Technique-Variant"] == variant
    assert len(answer.json()) == limit
    return answer.json(), int(answer.headers["X-DB-Queries"])


def test_same_books_with_1_plus_2n_statements_naive_and_1_optimised(django, set_flag):
    set_flag("n_plus_one", True)
    optimised = {n: _books(django, n, "optimised") for n in (5, 20)}
    set_flag("n_plus_one", False)
    naive = {n: _books(django, n, "naive") for n in (5, 20)}
    for n in (5, 20):
        assert naive[n][0] == optimised[n][0]
        assert naive[n][1] == 1 + 2 * n
        assert optimised[n][1] == 1
    assert any(book["review_count"] > 0 for book in naive[20][0])


def test_limit_is_validated(django: httpx.Client):
    for bad in ("0", "201", "x"):
        answer = django.get("/books", params={"limit": bad})
        assert answer.status_code == 400
        assert "'limit'" in answer.json()["error"]
