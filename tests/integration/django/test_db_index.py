"""db_index (Django): the API's flip builds / drops the index; the Django service runs
the same ORM query both ways; EXPLAIN of that very query shows the scan change."""

from __future__ import annotations

import json

import httpx
import psycopg
import pytest

from perflab.django_service.techniques.db_index import orders_query
from perflab.settings import Settings

pytestmark = pytest.mark.integration
INDEX = "orders_user_id_idx"


def _scans(dsn: str, user_id: int) -> list[dict]:
    sql, params = orders_query(user_id).query.sql_with_params()
    with psycopg.connect(dsn) as conn:
        plan = conn.execute(f"EXPLAIN (FORMAT JSON) {sql}", params).fetchone()[0]
    found, todo = [], [(plan if isinstance(plan, list) else json.loads(plan))[0]["Plan"]]
    while todo:
        node = todo.pop()
        if node.get("Relation Name") == "orders" or "Index Name" in node:
            found.append(node)
        todo += node.get("Plans", [])
    return found


def _orders(client: httpx.Client, user_id: int, variant: str) -> dict:
    answer = client.get(f"/users/{user_id}/orders")
    assert answer.status_code == 200, answer.text
    assert answer.headers["X-Technique-Variant"] == variant
    return answer.json()


def test_same_orders_both_ways_and_the_plan_follows_the_index(
    django: httpx.Client, set_flag, settings: Settings
):
    dsn = settings.db.dsn
    with psycopg.connect(dsn) as conn:
        user_id = conn.execute(
            "SELECT user_id FROM orders GROUP BY user_id ORDER BY count(*) DESC, user_id LIMIT 1"
        ).fetchone()[0]
    set_flag("db_index", True)
    set_flag("db_index", False)  # a real flip whatever the starting state
    naive = _orders(django, user_id, "naive")
    assert [n["Node Type"] for n in _scans(dsn, user_id)] == ["Seq Scan"]

    set_flag("db_index", True)
    optimised = _orders(django, user_id, "optimised")
    scans = _scans(dsn, user_id)
    assert "Seq Scan" not in [n["Node Type"] for n in scans]
    assert INDEX in [n.get("Index Name") for n in scans]

    assert naive == optimised
    assert naive["user_id"] == user_id and len(naive["orders"]) > 1
    assert int(django.get(f"/users/{user_id}/orders").headers["X-DB-Queries"]) == 1


def test_unknown_user_is_404_a_bad_id_400(django: httpx.Client):
    assert django.get("/users/99999999/orders").status_code == 404
    assert django.get("/users/0/orders").status_code == 400
    assert django.get("/users/99999999999/orders").status_code == 400
