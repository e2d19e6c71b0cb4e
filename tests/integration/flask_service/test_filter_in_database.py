"""filter_in_database (Flask): same page both ways; rows read from Postgres counted.

The proof by count: a listener on the engine's public `after_cursor_execute` event
adds up `cursor.rowcount` (rows the statement returned) while one request runs. The
naive path reads every book and every author; the optimised one at most `limit` rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, func, select

from perflab.flask_service.models import Author, Book

pytestmark = pytest.mark.integration

SEARCHES = [
    {"country": "FR", "max_price": 2500, "limit": 20},
    {"country": "JP", "max_price": 4999, "limit": 5},
    {"country": "GB", "max_price": 0},  # nothing that cheap
]


@contextmanager
def _rows_read(app: Flask) -> Iterator[list[int]]:
    engine = app.extensions["perflab"].pooled
    rows = [0]

    def count(_conn: Any, cursor: Any, *_: Any) -> None:
        rows[0] += max(cursor.rowcount, 0)

    event.listen(engine, "after_cursor_execute", count)
    try:
        yield rows
    finally:
        event.remove(engine, "after_cursor_execute", count)


def _search(app: Flask, client: FlaskClient, params: dict, variant: str) -> tuple[dict, int]:
    with _rows_read(app) as rows:
        answer = client.get("/books/by-country", query_string=params)
    assert answer.status_code == 200, answer.text
    assert answer.headers["X-Technique-Variant"] == variant
    return answer.json, rows[0]


async def test_same_page_from_every_row_in_python_or_a_page_of_rows_in_sql(
    flask_app: Flask, flask_client: FlaskClient, flask_flag
):
    await flask_flag("filter_in_database", False)
    naive = [_search(flask_app, flask_client, p, "naive") for p in SEARCHES]
    await flask_flag("filter_in_database", True)
    optimised = [_search(flask_app, flask_client, p, "optimised") for p in SEARCHES]

    with flask_app.app_context():
        from perflab.flask_service.resources import session

        books = session().scalar(select(func.count()).select_from(Book))
        authors = session().scalar(select(func.count()).select_from(Author))

    for (naive_page, naive_rows), (page, rows), params in zip(
        naive, optimised, SEARCHES, strict=True
    ):
        assert naive_page == page
        assert naive_rows == books + authors  # everything, to keep a page
        assert rows == len(page["books"]) <= params.get("limit", 20)
    first = naive[0][0]["books"]
    assert first and all(b["author"]["country"] == "FR" for b in first)
    assert all(b["price_cents"] <= 2500 for b in first)
    assert [b["price_cents"] for b in first] == sorted(b["price_cents"] for b in first)
    assert naive[2][0]["books"] == []


def test_parameters_are_validated(flask_client: FlaskClient):
    for params, field in (
        ({}, "country"),
        ({"country": "France"}, "country"),
        ({"country": "FR", "limit": 0}, "limit"),
        ({"country": "FR", "max_price": -1}, "max_price"),
    ):
        answer = flask_client.get("/books/by-country", query_string=params)
        assert answer.status_code == 422, params
        assert answer.json["detail"][0]["loc"] == ["query", field]
