"""batch_insert (Django): same orders both ways; N + 2 statements naive, 3 optimised."""

from __future__ import annotations

import httpx
import pytest

pytestmark = pytest.mark.integration


def _items(n: int) -> list[dict[str, int]]:
    return [{"user_id": 1 + i % 7, "book_id": 1 + i % 11, "quantity": 1 + i % 3} for i in range(n)]


def _bulk(client: httpx.Client, items: list, variant: str) -> tuple[dict, int]:
    answer = client.post("/orders/bulk", json=items)
    assert answer.status_code == 201, answer.text
    assert answer.headers["X-Technique-Variant"] == variant
    return answer.json(), int(answer.headers["X-DB-Queries"])


def test_same_orders_with_a_statement_per_row_naive_and_three_optimised(django, set_flag):
    items = _items(25)
    set_flag("batch_insert", False)
    naive, naive_sql = _bulk(django, items, "naive")
    set_flag("batch_insert", True)
    optimised, optimised_sql = _bulk(django, items, "optimised")
    assert naive["count"] == optimised["count"] == 25
    assert naive["total_cents"] == optimised["total_cents"] > 0
    assert len(set(naive["ids"]) | set(optimised["ids"])) == 50  # new rows both times
    assert naive_sql == 2 + 25  # two validation look-ups + one INSERT per row
    assert optimised_sql == 2 + 1  # two look-ups + one multi-row INSERT


def test_an_unknown_book_rejects_the_whole_batch(django: httpx.Client, set_flag):
    set_flag("batch_insert", True)
    items = [*_items(3), {"user_id": 1, "book_id": 999999, "quantity": 1}]
    answer = django.post("/orders/bulk", json=items)
    assert answer.status_code == 422 and "item 3: unknown book 999999" in answer.json()["error"]
    assert int(answer.headers["X-DB-Queries"]) == 2  # validated, nothing written
    assert django.post("/orders/bulk", json=[]).status_code == 400
    priced = django.post("/orders/bulk", json=[{**_items(1)[0], "price": 5}])
    assert priced.status_code == 422 and "unknown field(s) price" in priced.json()["error"]
    deep = django.post("/orders/bulk", content=b"[" * 100_000)  # json's recursion, not a 500
    assert deep.status_code == 400 and deep.json() == {"error": "body is nested too deeply"}
