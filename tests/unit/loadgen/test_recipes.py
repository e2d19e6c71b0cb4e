"""Recipes: valid ids, grouped names, and answers judged by status and body shape."""

from __future__ import annotations

import json
import random

import pytest
from loadgen import recipes
from loadgen.recipes import Endpoint, build_call, fill_path, parse_techniques, validate

from perflab.catalog import TECHNIQUES, Load
from perflab.db.seed import SeedCounts


def test_recipes_come_from_the_catalog():
    assert recipes.TECHNIQUES == tuple(TECHNIQUES)
    assert set(recipes.RECIPES) - set(recipes.TECHNIQUES) == {recipes.REVIEW.technique}
    for name, spec in TECHNIQUES.items():
        recipe = recipes.RECIPES[name]
        assert recipe.statuses == frozenset(spec.load.statuses)
        assert recipe.kind == spec.load.kind
        assert (recipe.body is None) == (spec.load.body is None)


def test_a_catalog_recipe_draws_its_query_and_checks_its_keys():
    recipe = recipes.from_catalog(Load(query={"n": (3, 5)}, shape="list", keys=("id",)))
    rng = random.Random(3)
    assert {recipe.query(rng)["n"] for _ in range(100)} == {3, 4, 5}  # type: ignore[misc]
    assert recipe.check([{"id": 1}]) is None
    assert recipe.check([{"x": 1}]) == "first item lacks id"
    assert recipe.check({"id": 1}) == "body is dict, expected a list"


def test_html_answers_are_checked_as_html():
    page = recipes.from_catalog(Load(kind="html"))
    recipes.RECIPES["page_for_test"] = page
    try:
        assert validate("page_for_test", 200, "text/html; charset=utf-8", b"<p>x</p>") is None
        assert validate("page_for_test", 200, "application/json", b"{}") == (
            "content-type application/json, expected HTML"
        )
    finally:
        del recipes.RECIPES["page_for_test"]


# What the smallest seed the lab supports creates: every id the load draws must exist.
SEEDED = SeedCounts.for_scale(0.01)


def test_path_parameters_get_ids_from_the_seeded_ranges():
    rng = random.Random(1)
    books, users, orders = set(), set(), set()
    for _ in range(500):
        book = int(fill_path("/books/{book_id}", rng).rsplit("/", 1)[1])
        assert 1 <= book <= SEEDED.books
        user, order = fill_path("/x/{user_id}/{order_id}", rng).split("/")[2:]
        assert 1 <= int(user) <= SEEDED.users
        assert 1 <= int(order) <= SEEDED.orders
        books.add(book)
        users.add(int(user))
        orders.add(int(order))
    # Spread over the range, not one id again and again.
    assert len(books) > 100 and len(users) > 100 and len(orders) > 400
    hot = {fill_path("/books/{book_id}", rng, {"book_id": 3}) for _ in range(200)}
    assert hot == {"/books/1", "/books/2", "/books/3"}
    assert fill_path("/things/{unknown_id}", rng) == "/things/1"


@pytest.mark.parametrize("technique", [*recipes.TECHNIQUES, "added_later"])
def test_calls_are_named_by_their_template(technique: str):
    endpoint = Endpoint(technique, "get", "/a/{book_id}/b")
    call = build_call(endpoint, random.Random(2))
    assert call.name == "/a/{book_id}/b"
    assert "{" not in call.path and call.url.startswith(call.path)
    assert call.method == "GET"


def test_writes_carry_a_body_that_references_seeded_rows():
    call = build_call(Endpoint("batch_insert", "POST", "/orders/bulk"), random.Random(3))
    assert isinstance(call.json, list) and call.json
    for row in call.json:
        assert 1 <= row["user_id"] <= SEEDED.users
        assert 1 <= row["book_id"] <= SEEDED.books
    generic = build_call(Endpoint("added_later", "POST", "/x"), random.Random(3))
    assert generic.json == {}


def _json(data: object) -> bytes:
    return json.dumps(data).encode()


def test_a_right_answer_passes_and_each_kind_of_wrong_answer_fails():
    books = [{"id": 1, "title": "t", "author": {"id": 1, "name": "a"}, "review_count": 3}]
    assert validate("n_plus_one", 200, "application/json", _json(books)) is None
    assert "status 500" in validate("n_plus_one", 500, "application/json", b"{}")
    assert "lacks review_count" in validate(
        "n_plus_one", 200, "application/json", _json([{"id": 1, "title": "t", "author": {}}])
    )
    assert "empty list" in validate("n_plus_one", 200, "application/json", b"[]")
    assert "expected a list" in validate("n_plus_one", 200, "application/json", b"{}")
    assert "invalid JSON" in validate("n_plus_one", 200, "application/json", b"[{")
    assert "expected JSON" in validate("n_plus_one", 200, "text/html", b"<html>")


def test_304_is_right_only_for_a_conditional_request():
    assert validate("http_caching", 304, "", b"", conditional=True) is None
    assert "without If-None-Match" in validate("http_caching", 304, "", b"")


def test_offloaded_work_may_answer_202_but_a_bulk_insert_must_create():
    answer = _json({"order_id": 1, "status": "queued", "via": "celery"})
    assert validate("background_offload", 202, "application/json", answer) is None
    assert validate("background_offload", 200, "application/json", answer) is None
    created = _json({"count": 1, "ids": [9], "total_cents": 5})
    assert validate("batch_insert", 201, "application/json", created) is None
    assert "status 200" in validate("batch_insert", 200, "application/json", created)


def test_resilience_may_fail_fast_naming_the_upstream_but_no_other_dependency():
    upstream = _json({"detail": "upstream missed its deadline", "dependency": "upstream"})
    assert validate("resilience", 503, "application/json", upstream) is None
    postgres = _json({"detail": "database unavailable", "dependency": "postgres"})
    assert "naming 'postgres'" in validate("resilience", 503, "application/json", postgres)
    assert "status 503" in validate("resilience", 503, "text/plain", b"Service Unavailable")
    assert "status 503" in validate("n_plus_one", 503, "application/json", upstream)


def test_csv_export_needs_a_header_with_id_and_a_data_row():
    good = b"id,user_id\n1,2\n"
    assert validate("streaming_export", 200, "text/csv; charset=utf-8", good) is None
    assert "no data row" in validate("streaming_export", 200, "text/csv", b"id,user_id\n")
    assert "lacks id" in validate("streaming_export", 200, "text/csv", b"a,b\n1,2\n")
    assert "expected text/csv" in validate("streaming_export", 200, "application/json", good)


def test_an_unknown_technique_is_judged_generically():
    assert validate("added_later", 201, "application/json", b'{"a": 1}') is None
    assert validate("added_later", 200, "text/plain", b"hello") is None
    assert "body is empty" in validate("added_later", 200, "application/json", b"{}")
    assert "status 404" in validate("added_later", 404, "application/json", b"{}")


def test_the_techniques_listing_is_parsed_or_rejected():
    listing = {"techniques": [{"name": "n_plus_one", "method": "get", "path": "/books"}]}
    assert parse_techniques(listing) == {"n_plus_one": Endpoint("n_plus_one", "GET", "/books")}
    with pytest.raises(ValueError, match="techniques"):
        parse_techniques([])
    with pytest.raises(ValueError, match="lacks path"):
        parse_techniques({"techniques": [{"name": "x", "method": "GET"}]})
